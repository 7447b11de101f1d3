"""``tsunagu urgency``: the child guidance centre's past cases, versions of the estimate, escalation.

``history`` loads the centre's anonymised past intakes; ``train`` fits a version on the cases
before a cut-off and validates it on the later ones (in force only if it passes); ``validate``
re-validates the version in force; ``card`` prints its model card; ``escalate`` escalates every
intake past its safety-check due time (run it from cron; the due list does the same when opened).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from tsunagu.commands.audit import AsRoleOption, OrganisationOption
from tsunagu.commands.common import (
    HomeOption,
    JsonOption,
    cli_subject,
    console,
    emit_json,
    fail,
    refuse,
    reported_errors,
    settings_for,
    signing_key,
)
from tsunagu.config import Settings
from tsunagu.errors import ExitCode
from tsunagu.hub import Hub
from tsunagu.privacy import Subject, authorise
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.urgency.history import HistoryRefused, load_history
from tsunagu.work.urgency.intake import escalate_overdue
from tsunagu.work.urgency.training import TrainingRefused
from tsunagu.work.urgency.versions import in_force, train_version, validate_in_force

urgency_app = typer.Typer(help="通告受理の緊急度支援（過去事例・推定モデル・安全確認の期限）", no_args_is_help=True)


def _allowed(session: Session, subject: Subject, action: str, settings: Settings) -> None:
    decision = authorise(session, subject, action, "administration", key=signing_key(settings))
    if not decision.allowed:
        session.commit()  # the refusal stays on record
        refuse(decision.reason)


@urgency_app.command("history")
def history_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="児童相談所の過去事例（jisou_history_*.csv）"),
    home: HomeOption = None, json_out: JsonOption = False,
    as_role: AsRoleOption = "administrator", organisation: OrganisationOption = "cli",
) -> None:
    """過去の受理事例（匿名化済み）を取り込む。不正な行は理由とともに除外し、多すぎればファイル全体を拒否する。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    with Hub.open(settings) as hub, hub.sessions() as session:
        _allowed(session, subject, "urgency.manage", settings)
        try:
            with reported_errors(HistoryRefused):
                report = load_history(session, file)
        except BaseException:
            session.rollback()
            raise
        session.commit()
    if json_out:
        emit_json({"file": report.file, "loaded": report.loaded, "already_loaded": report.already_loaded,
                   "quarantined": [{"line": line, "reason": why} for line, why in report.quarantined]})
        return
    console.print(f"{report.file}: 取込 {report.loaded}件、取込済み {report.already_loaded}件、除外 {len(report.quarantined)}件")
    for line, why in report.quarantined[:20]:
        console.print(f"  {line}行目: {why}")


@urgency_app.command("train")
def train_command(
    cutoff: str | None = typer.Option(None, "--cutoff", help="打ち切り日 YYYY-MM-DD（既定: 最新の事例の1年前）。以降は検証用"),
    bootstrap: int = typer.Option(40, "--bootstrap", min=5, max=200, help="区間のためのブートストラップ再推定の回数"),
    home: HomeOption = None, json_out: JsonOption = False,
    as_role: AsRoleOption = "administrator", organisation: OrganisationOption = "cli",
) -> None:
    """打ち切り日より前の事例で学習し、後の事例で検証する。基準を満たした版だけを運用にする。"""
    day = None
    if cutoff is not None:
        try:
            day = date.fromisoformat(cutoff)
        except ValueError:
            fail(f"--cutoff は YYYY-MM-DD で指定してください（指定: {cutoff}）")
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    with Hub.open(settings) as hub, hub.sessions() as session:
        _allowed(session, subject, "urgency.manage", settings)
        with reported_errors(TrainingRefused, Invalid):
            result = train_version(session, subject.user_id, cutoff=day, bootstrap=bootstrap)
        session.commit()
    summary = {"version": result.version, "in_force": result.in_force, "failures": result.failures,
               **{k: result.metrics[k] for k in ("auc", "ece", "critical_recall", "held_out_cases",
                                                 "interval_coverage")}}
    if json_out:
        emit_json(summary)
    else:
        state = "運用を開始しました" if result.in_force else "基準を満たさないため運用していません"
        console.print(f"{result.version}: {state}（AUC {summary['auc']}、ECE {summary['ece']}、"
                      f"重大項目の緊急表示率 {summary['critical_recall']}、検証事例 {summary['held_out_cases']}件）")
        for failure in result.failures:
            console.print(f"  [red]{failure}[/]")
    if not result.in_force:  # recorded, not in force: a failure, not a usage error (docs/errors.md)
        raise typer.Exit(ExitCode.FAILURE)


@urgency_app.command("validate")
def validate_command(
    home: HomeOption = None, json_out: JsonOption = False,
    as_role: AsRoleOption = "administrator", organisation: OrganisationOption = "cli",
) -> None:
    """運用中の版を、打ち切り日以降の検証用事例でもう一度検証する。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    with Hub.open(settings) as hub, hub.sessions() as session:
        _allowed(session, subject, "urgency.manage", settings)
        session.commit()
        with reported_errors(NotFound, TrainingRefused):
            metrics = validate_in_force(session)
    if json_out:
        emit_json(metrics)
        return
    console.print(f"{metrics['version']}（打ち切り {metrics['cutoff']}）: AUC {metrics['auc']}、ECE {metrics['ece']}、"
                  f"重大項目の緊急表示率 {metrics['critical_recall']}、検証事例 {metrics['held_out_cases']}件、"
                  f"区間の被覆率 {metrics['interval_coverage']}")


@urgency_app.command("card")
def card_command(
    home: HomeOption = None, json_out: JsonOption = False,
    as_role: AsRoleOption = "administrator", organisation: OrganisationOption = "cli",
) -> None:
    """運用中の版のモデルカード（データ・期間・指標・限界・グループ別の誤り率）。"""
    import json

    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    with Hub.open(settings) as hub, hub.sessions() as session:
        _allowed(session, subject, "urgency.card", settings)
        session.commit()
        row = in_force(session)
        if row is None:
            fail("運用中の推定モデルがありません（tsunagu urgency train）。")
        card = json.loads(row.card_json)
    if json_out:
        emit_json(card)
        return
    console.print(f"[bold]{card['version']}[/] {card['what']}")
    console.print(f"学習: {card['data']['training_from']}〜{card['data']['training_to']}（{card['data']['training_cases']}件）"
                  f"、検証: {card['data']['held_out_from']}〜{card['data']['held_out_to']}（{card['data']['held_out_cases']}件）")
    console.print("指標: " + "、".join(f"{k} {v}" for k, v in card["metrics"].items()))
    for limit in card["limits"]:
        console.print(f"・{limit}")


@urgency_app.command("escalate")
def escalate_command(
    now: str | None = typer.Option(None, "--now", help="基準時刻（ISO 8601、既定: 現在）。リハーサル用"),
    home: HomeOption = None, json_out: JsonOption = False,
    as_role: AsRoleOption = "administrator", organisation: OrganisationOption = "cli",
) -> None:
    """安全確認の期限を過ぎた受理を上席に上げる（記録に残す）。cron から定期的に実行する。"""
    try:
        moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    except ValueError:
        fail(f"--now は ISO 8601 で指定してください（指定: {now}）")
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    settings = settings_for(home)
    subject = cli_subject(as_role, organisation)
    with Hub.open(settings) as hub, hub.sessions() as session:
        _allowed(session, subject, "urgency.manage", settings)
        try:
            escalated = escalate_overdue(session, moment)
        except Refused as exc:
            refuse(exc.message)
        session.commit()
    if json_out:
        emit_json({"escalated": escalated})
    else:
        console.print(f"上席に上げた受理: {len(escalated)}件" + (f"（{', '.join(map(str, escalated))}）" if escalated else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(urgency_app, name="urgency")
