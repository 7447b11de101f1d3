"""``tsunagu link``: linkage runs, the clerical review queue and evaluation against truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.prompt import Prompt
from rich.table import Table

from tsunagu.commands.common import (
    HomeOption,
    JsonOption,
    cli_subject,
    console,
    emit_json,
    fail,
    reported_errors,
    settings_for,
    signing_key,
)
from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.link.probabilistic import BlockingTooLargeError
from tsunagu.link.run import LinkReport, run_linkage
from tsunagu.vault.node import no_cycle_collection

link_app = typer.Typer(help="名寄せ（同一人物の記録をつなぐ）", invoke_without_command=True)


def link_home(settings: Settings, incremental: bool = False) -> LinkReport:
    # A run makes millions of row tuples with no cycles: the collector would walk them again and again.
    with no_cycle_collection(), Hub.open(settings) as hub, hub.sessions.begin() as session:
        return run_linkage(session, hub.nodes(), hub.manifests, incremental=incremental,
                           search_secret=hub.search_secret)


@link_app.callback()
def link(
    ctx: typer.Context,
    incremental: bool = typer.Option(False, "--incremental", help="新しい記録だけを前回のモデルでつなぐ"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """全部署の記録を名寄せし、個人IDの対応表を更新する。"""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_for(home)
    with reported_errors(BlockingTooLargeError):
        report = link_home(settings, incremental)
    if json_out:
        emit_json(report)
        return
    table = Table(title=f"名寄せ結果（{report.mode}・{report.seconds}秒）")
    table.add_column("項目")
    table.add_column("件数", justify="right")
    for label, value in (
        ("記録", report.records), ("個人", report.persons), ("宛名番号でつないだ記録", report.deterministic_links),
        ("確率的につないだ記録", report.probabilistic_links), ("確認済みでつないだ記録", report.clerical_links),
        ("確認待ち（名寄せ確認）", report.review_pairs), ("つながらなかった記録", report.unlinked_records),
        ("新しい個人ID", report.created), ("統合", report.merged), ("分割", report.split),
    ):
        table.add_row(label, f"{value:,}")
    console.print(table)
    for source in report.missing_sources:
        console.print(f"[yellow]未取得のデータソース:[/] {source}")


AsRole = Annotated[str, typer.Option("--as-role", help="CLIを使う人の役割（既定: data_steward）。アクセス記録に残ります")]


@link_app.command("review")
def review(
    decide: bool = typer.Option(False, "--decide", help="1組ずつ表示して判断を入力する"),
    limit: int = typer.Option(20, "--limit", help="表示する組数"),
    as_role: AsRole = "data_steward",
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """名寄せ確認の待ち行列を表示し、判断（同一人物／別人）を記録する。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, "cli", back_office_only=False)
    key = signing_key(settings)
    from tsunagu.work import linkreview  # the review's workflow, not needed by a linkage run (imports)
    from tsunagu.work.errors import WorkError

    with reported_errors(WorkError), Hub.open(settings) as hub, hub.unit() as session:
        pairs = linkreview.pending_pairs(session, subject, hub.nodes(), hub.manifests, limit=limit,
                                         key=key)
        if json_out and not decide:
            emit_json({"pairs": pairs})
            return
        if not pairs:
            console.print("確認待ちの組はありません / the review queue is empty")
            return
        for pair in pairs:
            table = Table(title=f"組 {pair.id}: 一致確率 {pair.match_probability:.3f}")
            for header in ("項目", pair.left_key, pair.right_key, ""):
                table.add_column(header)
            for label, left, right, same in pair.rows:
                table.add_row(label, left, right, "＝" if same else "≠")
            console.print(table)
            if not decide:
                continue
            answer = Prompt.ask("同一人物ですか？ [y]同一 / [n]別人 / [s]保留 / [q]終了", choices=["y", "n", "s", "q"])
            if answer == "q":
                break
            if answer == "s":
                continue
            reason = Prompt.ask("判断の理由")
            linkreview.decide_pair(session, subject, pair.id, "match" if answer == "y" else "non_match", reason,
                                   key=key)


@link_app.command("decide")
def decide_pair(
    pair_id: int = typer.Argument(..., help="組の番号"),
    decision: str = typer.Argument(..., help="match（同一人物）または non_match（別人）"),
    reason: str = typer.Option(..., "--reason", help="判断の理由"),
    as_role: AsRole = "data_steward",
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """名寄せ確認の1組に判断を記録する（以後の名寄せはこの判断に従う）。"""
    settings = settings_for(home)
    subject = cli_subject(as_role, "cli", back_office_only=False)
    from tsunagu.work import linkreview
    from tsunagu.work.errors import WorkError

    with reported_errors(WorkError), Hub(settings) as hub, hub.unit() as session:
        linkreview.decide_pair(session, subject, pair_id, decision, reason, key=signing_key(settings))
    if json_out:
        emit_json({"pair": pair_id, "decision": decision})
    else:
        console.print(f"記録しました: 組 {pair_id} = {decision}")


@link_app.command("evaluate")
def evaluate(
    truth: Path = typer.Option(..., "--truth", help="合成データの truth フォルダ", exists=True, file_okay=False),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """名寄せ結果を正解（合成データの truth）と比べ、適合率・再現率・F1を報告する。"""
    from tsunagu.link.evaluate import TruthCoverageError, evaluate_linkage  # only this command compares with truth

    settings = settings_for(home)
    with reported_errors(FileNotFoundError, TruthCoverageError), Hub(settings) as hub, hub.sessions() as session:
        report = evaluate_linkage(session, truth)
    if json_out:
        emit_json(report)
        return
    console.print(f"適合率 precision {report['precision']:.5f} / 再現率 recall {report['recall']:.5f} / F1 {report['f1']:.5f}")
    console.print(f"確認待ちの割合 review band share {report['review_band_share']:.4%}")
    covered = report["truth_coverage"]
    console.print(f"truth に含まれる記録 {covered['in_truth']:,} / {covered['records']:,}（{covered['share']:.1%}）")
    for group, figures in report["by_group"].items():
        console.print(f"  {group}: recall {figures['recall']:.4f}（{figures['records']}件）")
    if report.get("problems"):
        fail("; ".join(report["problems"]))


def register(app: typer.Typer) -> None:
    app.add_typer(link_app, name="link")
