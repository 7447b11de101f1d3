"""``tsunagu screen simulate`` and ``tsunagu screen model``: the learned ranking from recorded decisions.

``model train`` fits a version on the second-stage decisions recorded so far (shadow mode);
``model score`` scores a run with it (order within the list, proposals for 見守り, drift);
``model card`` prints its model card; ``model approve`` is the steward's approval (audited).
``simulate`` plays several rounds with the synthetic truth as reviewers (docs/learned-ranking.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from tsunagu.commands.common import (
    HomeOption,
    JsonOption,
    console,
    emit_json,
    fail,
    refuse,
    reported_errors,
    settings_for,
    signing_key,
)
from tsunagu.commands.screen import rule_set_for
from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.privacy import Subject, authorise
from tsunagu.screen.runs.truth import latest_run_id
from tsunagu.work.ranking import service
from tsunagu.work.ranking.card import card_lines
from tsunagu.work.ranking.models import STATUS_LABELS
from tsunagu.work.ranking.simulate import SimulationSettings, simulate

model_app = typer.Typer(help="学習による並べ替え（二次アセスメントの判断から学ぶ。区分は変えない）", no_args_is_help=True)
StewardOption = Annotated[str, typer.Option("--as-user", help="操作する人の利用者名（アクセス記録に残す）")]
StewardRole = Annotated[str, typer.Option("--as-role", help="役割: data_steward（既定）または administrator")]


def _subject(user: str, role: str) -> Subject:
    if role not in ("data_steward", "administrator"):
        fail(f"--as-role は data_steward / administrator のいずれかです（指定: {role}）")
    return Subject(user, role, "municipality")


def _allowed(session: Session, subject: Subject, action: str, settings: Settings) -> None:
    decision = authorise(session, subject, action, "administration", key=signing_key(settings))
    if not decision.allowed:
        session.commit()  # the refusal stays on record
        refuse(decision.reason)


@model_app.command("train")
def train(home: HomeOption = None, json_out: JsonOption = False, as_user: StewardOption = "steward",
          as_role: StewardRole = "data_steward") -> None:
    """記録された二次アセスメントの判断から新しい版を学習する（承認までは試行モード）。"""
    settings = settings_for(home)
    subject = _subject(as_user, as_role)
    with Hub.open(settings) as hub:
        rule_set = rule_set_for(hub)
        with hub.sessions.begin() as session:
            _allowed(session, subject, "ranking.manage", settings)
            with reported_errors():
                row = service.train_version(session, subject, hub.nodes(), hub.manifests, hub.catalog, rule_set,
                                            key=signing_key(settings))
            card = json.loads(row.card_json)
    if json_out:
        emit_json(card)
        return
    for line in card_lines(card, STATUS_LABELS[row.status]):
        console.print(line)


@model_app.command("score")
def score(run: str | None = typer.Option(None, "--run", help="実行ID（既定: 最新）"),
          version: str | None = typer.Option(None, "--version", help="版（既定: 最新）"),
          home: HomeOption = None, json_out: JsonOption = False, as_user: StewardOption = "steward",
          as_role: StewardRole = "data_steward") -> None:
    """スクリーニング結果に点数をつける: 一覧の中の順番、見守りへの追加の提案、指標の変化（PSI）。"""
    settings = settings_for(home)
    subject = _subject(as_user, as_role)
    with Hub.open(settings) as hub:
        rule_set = rule_set_for(hub)
        with hub.sessions.begin() as session:
            _allowed(session, subject, "ranking.manage", settings)
            run_id = run or latest_run_id(session)
            if run_id is None:
                fail("スクリーニングの実行結果がありません（先に tsunagu screen を実行してください）")
            with reported_errors():
                report = service.score_run(session, hub.nodes(), hub.manifests, hub.catalog, rule_set, run_id, version)
    if json_out:
        emit_json(asdict(report))
        return
    console.print(f"版 {report.version}（{STATUS_LABELS[report.status]}）: {report.scored:,}人に点数、"
                  f"見守りへの追加の提案 {report.proposed:,}人（追加するかは人が判断します）")
    if report.drift_alerts:
        console.print(f"[yellow]学習時から分布が大きく変わった指標（PSI > 0.25）: {'、'.join(report.drift_alerts)}[/]")


@model_app.command("card")
def card(version: str | None = typer.Option(None, "--version", help="版（既定: 最新）"), home: HomeOption = None,
         json_out: JsonOption = False, as_user: StewardOption = "steward", as_role: StewardRole = "data_steward") -> None:
    """版のモデルカード（データの期間・ラベル・精度・群ごとの誤りの率・限界）を表示する。"""
    settings = settings_for(home)
    subject = _subject(as_user, as_role)
    with Hub.open(settings) as hub, hub.sessions.begin() as session:
        _allowed(session, subject, "ranking.manage", settings)
        with reported_errors():
            row = service.get_version(session, version)
        data, status = json.loads(row.card_json), row.status
    if json_out:
        emit_json({**data, "status": status})
        return
    for line in card_lines(data, STATUS_LABELS[status]):
        console.print(line)


@model_app.command("approve")
def approve(version: str = typer.Argument(..., help="承認する版"), home: HomeOption = None,
            as_user: StewardOption = "steward", as_role: StewardRole = "data_steward") -> None:
    """データ担当が版を承認する（試行モードから利用へ。アクセス記録に残る。管理者には認められない）。"""
    settings = settings_for(home)
    subject = _subject(as_user, as_role)
    with Hub.open(settings) as hub, hub.sessions.begin() as session:
        _allowed(session, subject, "ranking.approve", settings)
        with reported_errors():
            service.approve(session, subject, version, key=signing_key(settings))
    console.print(f"版 {version} を承認しました（以後、一覧の並べ替えと提案が職員に表示されます）。")


def simulate_command(
    truth: Path = typer.Option(..., "--truth", help="合成データの truth フォルダ", exists=True, file_okay=False),
    rounds: int = typer.Option(3, "--rounds", help="回数"),
    sample_share: float = typer.Option(0.02, "--sample-share", help="無作為確認枠（一覧外の子どもを確認する割合）"),
    miss: float = typer.Option(0.10, "--miss", help="確認者が支援の必要を見落とす率"),
    false_alarm: float = typer.Option(0.05, "--false-alarm", help="確認者が必要のない子どもを支援とする率"),
    seed: int = typer.Option(1, "--seed", help="乱数の種"),
    as_of: str | None = typer.Option(None, "--as-of", help="基準日（既定: 合成データの出力日）"),
    home: HomeOption = None, json_out: JsonOption = False,
) -> None:
    """合成データの正解を確認者として、スクリーニング→二次アセスメント→学習を数回くり返し、再現率と較正を測る。"""
    settings = settings_for(home)
    manifest = truth / "manifest.json"
    if not manifest.is_file():
        fail(f"{manifest} がありません（tsunagu synth の truth フォルダを指定してください）")
    base = date.fromisoformat(as_of) if as_of else date.fromisoformat(
        json.loads(manifest.read_text(encoding="utf-8"))["export_date"])
    options = SimulationSettings(rounds=rounds, sample_share=sample_share, miss=miss, false_alarm=false_alarm, seed=seed)
    with Hub.open(settings) as hub:
        rule_set = rule_set_for(hub)
        with reported_errors(RuntimeError, FileNotFoundError):
            result = simulate(hub.sessions.begin, hub.nodes(), hub.manifests, hub.catalog, rule_set, truth, base,
                              hub.note_cipher, options, progress=(lambda _: None) if json_out else console.print)
    if json_out:
        emit_json(result)
        return
    console.print(f"掲載割合 {result['listed_share']:.3f} / 上限（正解で学習）{result['ceiling_recall']:.3f} / "
                  f"ルール {result['rules_recall']:.3f} / 学習 {result['model_recall']:.3f}（ECE {result['model_ece']:.3f}）/ "
                  f"単一部署 {result['single_department_recall']:.3f}")


def register(screen_app: typer.Typer) -> None:
    """Add ``screen model …`` and ``screen simulate`` (once: the CLI may be built more than once)."""
    if any(group.typer_instance is model_app for group in screen_app.registered_groups):
        return
    screen_app.add_typer(model_app, name="model")
    screen_app.command("simulate")(simulate_command)
