"""``tsunagu outreach``: push-type support — who is eligible and not receiving, the letters, the outcomes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from tsunagu.commands.common import (
    HomeOption,
    JsonOption,
    cli_subject,
    console,
    emit_json,
    fail,
    reported_errors,
    settings_for,
)
from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.outreach.lists import gap_list, outcomes_summary
from tsunagu.outreach.notices import FontMissingError, mailing_csv, make_wave, record_language, record_opt_out
from tsunagu.outreach.programmes import ProgrammeSet, load_programmes
from tsunagu.outreach.run import OutreachReport, run_outreach
from tsunagu.outreach.truth import evaluate_outreach
from tsunagu.privacy import Subject
from tsunagu.screen.expr import ExprError
from tsunagu.vault.node import Node
from tsunagu.work.access import suspended_persons
from tsunagu.work.errors import WorkError

T = TypeVar("T")

outreach_app = typer.Typer(help="プッシュ型支援（対象でありながら受けていない世帯への案内）", no_args_is_help=True)
DepartmentOption = typer.Option(..., "--department", help="制度を実施する部署（例: board_of_education）")
RoleOption = typer.Option("programme_officer", "--as-role", help="操作する人の役割（アクセス記録に残る）")


def programmes_for(settings: Settings) -> ProgrammeSet:
    with reported_errors(ExprError):
        return load_programmes(settings.rules_path, settings.municipality_code)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"日付は YYYY-MM-DD で指定してください: {text!r}")


def _officer(department: str, as_role: str) -> Subject:
    """The person at the terminal, in the role they claim for ``department`` (both recorded in the audit)."""
    return cli_subject(as_role, department, back_office_only=False)


def _in_hub(settings: Settings, work: Callable[[Session, Mapping[str, Node]], T]) -> T:
    """One unit of work with the nodes open; a refusal is committed (it is on record), then reported."""
    with Hub.open(settings) as hub:
        try:
            with hub.unit() as session:
                return work(session, hub.nodes())
        except WorkError as exc:
            fail(exc.message, exc.exit_code)


def outreach_home(settings: Settings, as_of: date) -> OutreachReport:
    programmes = programmes_for(settings)
    with Hub.open(settings) as hub, hub.sessions.begin() as session:
        return run_outreach(session, hub.nodes(), hub.manifests, hub.catalog, programmes, as_of,
                            excluded=suspended_persons(session))


@outreach_app.command("run")
def run(
    as_of: str = typer.Option(date.today().isoformat(), "--as-of", help="基準日（YYYY-MM-DD）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """全ての制度の対象要件を判定して保存し、それまでの案内の結果（申請・利用）を更新する。"""
    settings = settings_for(home)
    with reported_errors(RuntimeError):
        report = outreach_home(settings, _date(as_of))
    if json_out:
        emit_json(report)
        return
    programmes = programmes_for(settings)
    table = Table(title=f"制度の対象要件（{report.as_of}時点・{report.children:,}人・{report.seconds}秒）")
    for column in ("制度", "対象", "受けている", "受けていない", "受給状況不明", "確認できない要件あり"):
        table.add_column(column, justify="left" if column == "制度" else "right")
    for pid, c in report.programmes.items():
        label = programmes.programmes[pid].label if pid in programmes.programmes else pid
        table.add_row(label, f"{c['eligible']:,}", f"{c['receiving']:,}", f"{c['gap']:,}", f"{c['receipt_unknown']:,}",
                      f"{c['undetermined']:,}")
    console.print(table)
    for department in report.unavailable:
        console.print(f"[yellow]データが届かなかった部署（その要件は「確認できない」）:[/] {department}")
    for entry in report.unreadable.get("sources", []):
        console.print(f"[yellow]読めない行のあるデータ（その要件は「確認できない」）:[/] {entry['source']} {entry['item']} "
                      f"— 子ども {entry['children']} 人、宛名番号を読めない行 {entry['rows_without_key']} 行"
                      "（部署の保留を解消してください: tsunagu quarantine）")
    for wave, per in report.outcomes.items():
        for pid, c in per.items():
            label = programmes.programmes[pid].label if pid in programmes.programmes else pid
            console.print(f"発送回 {wave} {label}: 案内 {c['noticed']} 人のうち期間内に申請・利用 {c['in_window']} 人")


@outreach_app.command("list")
def list_(
    department: str = DepartmentOption,
    programme: str | None = typer.Option(None, "--programme", help="制度ID（既定: 部署の全ての制度）"),
    as_role: str = RoleOption,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """部署が実施する制度について、対象でありながら受けていない世帯の一覧（複数の制度は世帯ごとにまとめる）。"""
    settings = settings_for(home)
    programmes = programmes_for(settings)
    subject = _officer(department, as_role)
    with reported_errors(LookupError):
        listing = _in_hub(settings, lambda s, nodes: gap_list(s, subject, programmes, nodes, programme=programme,
                                                               per_page=10_000))
    if json_out:
        emit_json(listing)
        return
    console.print(f"[bold]{listing.department_label}[/] {listing.as_of}時点 {listing.total} 世帯")
    for h in listing.households:
        names = "、".join(f"{c.name}（{c.age}歳）" for c in h.children)
        console.print(f"{h.guardian_name or '（保護者不明）'} 様方: {names} — {'・'.join(h.programme_labels)}"
                      + (" [dim]案内停止中[/]" if h.opted_out else ""))


@outreach_app.command("notices")
def notices(
    department: str = DepartmentOption,
    out: Path = typer.Option(..., "--out", help="PDFと発送名簿を書き出すフォルダ"),
    programme: list[str] = typer.Option([], "--programme", help="制度ID（複数可。既定: 部署の全ての制度）"),
    sent_on: str = typer.Option(date.today().isoformat(), "--sent-on", help="発送日（YYYY-MM-DD）"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="作成する世帯数の上限"),
    as_role: str = RoleOption,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """最新の判定から、世帯ごとの案内文書（PDF）と発送名簿（CSV）を作り、発送回として記録する。"""
    settings = settings_for(home)
    programmes = programmes_for(settings)
    subject = _officer(department, as_role)
    day = _date(sent_on)
    with reported_errors(LookupError, FontMissingError), console.status("案内文書を作成中…") as status:
        wave = _in_hub(settings, lambda s, nodes: make_wave(
            s, subject, programmes, nodes, out, sent_on=day, programmes_wanted=programme or None, limit=limit,
            progress=lambda done, total: status.update(f"案内文書を作成中… {done}/{total}")))
    if json_out:
        emit_json(wave)
        return
    console.print(f"発送回 {wave.wave_id}: {wave.letters} 通（案内停止 {wave.skipped_opt_out} 世帯、"
                  f"宛先不明 {wave.skipped_no_address} 世帯を除く） → {wave.folder}")
    for language, count in wave.languages.items():
        console.print(f"  {language}: {count} 通")


@outreach_app.command("mailing-list")
def mailing_list(
    wave: str = typer.Argument(..., help="発送回ID"),
    department: str = DepartmentOption,
    out: Path = typer.Option(..., "--out", help="書き出すCSVファイル"),
    as_role: str = RoleOption,
    home: HomeOption = None,
) -> None:
    """発送回の発送名簿（Excelで開ける BOM つき UTF-8、数式として解釈されないよう加工）を書き出す。"""
    settings = settings_for(home)
    subject = _officer(department, as_role)
    rows = _in_hub(settings, lambda s, nodes: mailing_csv(s, subject, nodes, wave, out))
    console.print(f"{rows} 行を書き出しました: {out}")


@outreach_app.command("opt-out")
def opt_out(
    person: str = typer.Option(..., "--person", help="申出のあった方（子どもまたは保護者）の個人ID"),
    department: str = DepartmentOption,
    reason: str = typer.Option(..., "--reason", help="申出の内容（例: 案内不要との電話 12/1）"),
    programme: str | None = typer.Option(None, "--programme", help="制度ID（既定: 全ての制度の案内を停止）"),
    as_role: str = RoleOption,
    home: HomeOption = None,
) -> None:
    """世帯からの「案内は不要」という申出を記録する（以後の案内文書から除く）。"""
    settings = settings_for(home)
    subject = _officer(department, as_role)
    with reported_errors(ValueError):
        _in_hub(settings, lambda s, _nodes: record_opt_out(s, subject, person, reason, programme))
    console.print("案内の停止を記録しました（世帯の全員に適用します）。")


@outreach_app.command("language")
def language(
    person: str = typer.Option(..., "--person", help="申出のあった方の個人ID"),
    department: str = DepartmentOption,
    lang: str = typer.Option(..., "--lang", help="ja / easy_ja / en / zh / pt / vi"),
    as_role: str = RoleOption,
    home: HomeOption = None,
) -> None:
    """世帯が希望する案内の言語を記録する（住民記録からの推定より優先）。"""
    settings = settings_for(home)
    subject = _officer(department, as_role)
    with reported_errors(ValueError):
        _in_hub(settings, lambda s, _nodes: record_language(s, subject, person, lang))
    console.print("案内の言語を記録しました。")


@outreach_app.command("outcomes")
def outcomes(
    department: str = DepartmentOption,
    as_role: str = RoleOption,
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """発送回ごと・制度ごとの案内の結果（期間内に申請・利用した人数）。"""
    settings = settings_for(home)
    programmes = programmes_for(settings)
    subject = _officer(department, as_role)
    summary = _in_hub(settings, lambda s, _nodes: outcomes_summary(s, subject, programmes))
    if json_out:
        emit_json(summary)
        return
    for wave in summary["waves"]:
        console.print(f"[bold]発送回 {wave['wave_id']}[/]（{wave['sent_on']} 発送・{wave['letters']} 通）")
        for p in wave["programmes"]:
            console.print(f"  {p['label']}: 案内 {p['noticed']} 人 / 期間内に申請・利用 {p['in_window']} 人"
                          f"（{p['rate']:.1%}）" if p["rate"] is not None else f"  {p['label']}: 結果は次回の判定後")


@outreach_app.command("evaluate")
def evaluate(
    truth: Path = typer.Option(..., "--truth", help="合成データの truth フォルダ", exists=True, file_okay=False),
    run_id: str | None = typer.Option(None, "--run", help="評価する実行ID（既定: 最新）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """未利用の対象世帯の一覧を合成データの正解と比べる（制度ごとの再現率・適合率、世帯単位）。"""
    settings = settings_for(home)
    with reported_errors(FileNotFoundError, LookupError), Hub(settings) as hub, hub.sessions() as session:
        report = evaluate_outreach(session, truth, run_id)
    if json_out:
        emit_json(report)
        return
    for name, r in report["programmes"].items():
        console.print(f"{name}: 再現率 {r['recall']} / 適合率 {r['precision']} / 対象 {r['eligible']} 世帯 / "
                      f"受けていない {r['not_receiving']} 世帯")


def register(app: typer.Typer) -> None:
    app.add_typer(outreach_app, name="outreach")
