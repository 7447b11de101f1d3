"""``tsunagu ingest`` and ``tsunagu quarantine``: loading exports and fixing the rows that failed."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tsunagu.catalog.manifest import manifests_for_home
from tsunagu.commands.audit import hub_session
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
from tsunagu.csvout import write_rows
from tsunagu.ingest.load import AcceptDrop, HeldSnapshot, Ingestor, IngestReport, expand_paths
from tsunagu.privacy import authorise
from tsunagu.privacy.audit import ACCEPT_DROP_EVENT, AuditEvent, append
from tsunagu.vault import quarantine as q
from tsunagu.vault.store import FLAGGED, Vault, VaultLocation

StewardRole = Annotated[str, typer.Option("--as-role", help="CLIを使う人の役割（既定: data_steward）。アクセス記録に残ります")]


def authorise_steward(settings: Settings, as_role: str) -> None:
    """Loading exports and reading quarantined rows handle personal data: decided and recorded."""
    with hub_session(settings) as session:
        decision = authorise(session, cli_subject(as_role, "cli", back_office_only=False), "sources.load",
                             "administration", key=signing_key(settings))
    if not decision.allowed:
        refuse(decision.reason)


def drop_recorder(settings: Settings, as_role: str, reason: str) -> AcceptDrop:
    """Records each export applied over the snapshot guard (``--accept-drop``) in the audit chain.

    Called inside the load's transaction, before it commits: if the entry cannot be written, the
    export is not applied either.
    """

    def record(held: HeldSnapshot) -> None:
        with hub_session(settings) as session:
            append(session, AuditEvent(
                actor=getpass.getuser(), role=as_role, organisation="cli", purpose="administration",
                action=ACCEPT_DROP_EVENT, outcome="allowed",
                reason=(f"{held.source} {held.file}: 現在{held.current:,}件→{held.loaded:,}件（{held.why}）を承知で適用。"
                        f"理由: {reason or '（記載なし）'}"),
            ), key=signing_key(settings))

    return record


def run_ingest(settings: Settings, paths: list[Path], show_progress: bool,
               accept_drop: AcceptDrop | None = None) -> IngestReport:
    ingestor = Ingestor(manifests_for_home(settings.home, tolerant=True), settings.vault_dir, settings.hub_url,
                        accept_drop=accept_drop)
    try:
        files = expand_paths(paths)
        if not show_progress:
            return ingestor.ingest(files)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("取込中 / loading", total=len(files))
            return ingestor.ingest(files, lambda path: progress.update(task, advance=1, description=f"取込中 {path.name}"))
    finally:
        ingestor.close()


def ingest(
    paths: list[Path] = typer.Argument(..., help="取り込むファイルまたはフォルダ", exists=True),
    accept_drop: bool = typer.Option(
        False, "--accept-drop",
        help="現在の記録を大きく減らす（または空の）出力も適用する。保留された出力を確かめた後だけ使う（監査ログに記録）",
    ),
    reason: str = typer.Option("", "--reason", help="--accept-drop の理由（監査ログに記録）"),
    as_role: StewardRole = "data_steward",
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """部署のエクスポートを各部署の保管庫に取り込む（全行を取込または保留に振り分ける）。

    現在の記録を大きく減らす出力（既定: 半分を超えて。取込定義の snapshot_guard で変更可）・取り込める行のない
    出力は適用せずに保留し、終了コード1で終わる。
    """
    settings = settings_for(home)
    authorise_steward(settings, as_role)
    recorder = drop_recorder(settings, as_role, reason) if accept_drop else None
    with reported_errors():
        report = run_ingest(settings, paths, show_progress=not json_out and sys.stderr.isatty(), accept_drop=recorder)
    if json_out:
        emit_json(report.as_json())
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: IngestReport) -> None:
    table = Table(title="取込結果 / ingest")
    for header in ("データソース", "部署", "ファイル数", "入力行", "取込", "保留", "要確認の値", "状態"):
        table.add_column(header)
    accepted = {f.source for f in report.files if f.accepted_drop}
    for s in report.sources():
        state = "取込済み（変更なし）" if s.already_loaded else "取込（件数減少を承認）" if s.source in accepted else "取込"
        table.add_row(s.source, s.department, str(s.files), str(s.rows_in), str(s.loaded),
                      f"[red]{s.quarantined}[/]" if s.quarantined else "0",
                      f"[yellow]{s.flagged}[/]" if s.flagged else "0", state)
    console.print(table)
    if any(s.flagged for s in report.sources()):
        console.print("[dim]要確認の値: 行は取り込み、その値だけを欠損として扱いました（tsunagu quarantine flagged で確認）[/]")
    for problem in report.manifest_problems:
        console.print(f"[bold red]取込定義の誤り[/] {problem['reason']}")
    for held in report.held:
        console.print(f"[bold red]取込保留[/] {held['reason']}")
    for refused in report.refused:
        console.print(f"[bold red]取込拒否[/] {refused['reason']}")


quarantine_app = typer.Typer(help="保留（取り込めなかった行）の確認と修正用の書き出し", no_args_is_help=True)


def _vaults(settings: Settings) -> list[Vault]:
    manifests = manifests_for_home(settings.home, tolerant=True)
    departments = sorted({m.department for m in manifests.manifests.values()})
    found = []
    for department in departments:
        location = VaultLocation.for_home(department, settings.vault_dir, settings.hub_url)
        if location.schema_name is None and not (settings.vault_dir / f"{department}.sqlite3").exists():
            continue
        found.append(Vault(location))
    return found


@quarantine_app.command("list")
def quarantine_list(as_role: StewardRole = "data_steward", home: HomeOption = None, json_out: JsonOption = False) -> None:
    """保留行のあるファイルを一覧表示する。"""
    settings = settings_for(home)
    authorise_steward(settings, as_role)
    summaries = [s for v in _vaults(settings) for s in q.summarise(v)]
    if json_out:
        emit_json({"quarantine": summaries})
        return
    table = Table(title="保留行と要確認の値 / quarantined rows and flagged values")
    for header in ("部署", "データソース", "ファイル", "保留行", "問題数", "要確認の値がある行（取込済み）"):
        table.add_column(header)
    for s in summaries:
        table.add_row(s.department, s.source, s.file_name, str(s.rows), str(s.problems), str(s.flagged_rows))
    console.print(table if summaries else "保留行も要確認の値もありません / nothing quarantined or flagged")


@quarantine_app.command("show")
def quarantine_show(
    source: str = typer.Argument(..., help="データソースID"),
    row: int | None = typer.Option(None, "--row", help="行番号（見出しの次の行が1）"),
    limit: int = typer.Option(50, "--limit", help="表示件数"),
    as_role: StewardRole = "data_steward",
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """1つのデータソースの保留行を、列・値・理由とともに表示する。"""
    _show(source, row, limit, as_role, home, json_out, q.OPEN)


@quarantine_app.command("flagged")
def quarantine_flagged(
    source: str = typer.Argument(..., help="データソースID"),
    row: int | None = typer.Option(None, "--row", help="行番号（見出しの次の行が1）"),
    limit: int = typer.Option(50, "--limit", help="表示件数"),
    as_role: StewardRole = "data_steward",
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """要確認の値（行は取り込み、その値だけを欠損として扱ったもの）を、列・値・理由とともに表示する。"""
    _show(source, row, limit, as_role, home, json_out, FLAGGED)


def _show(source: str, row: int | None, limit: int, as_role: str, home: Path | None, json_out: bool,
          status: str) -> None:
    settings = settings_for(home)
    authorise_steward(settings, as_role)
    with reported_errors(KeyError):
        department = manifests_for_home(settings.home, tolerant=True).get(source).department
    vault = Vault(VaultLocation.for_home(department, settings.vault_dir, settings.hub_url))
    try:
        rows = q.entries(vault, source=source, row_number=row, limit=limit, status=status)
    finally:
        vault.dispose()
    if json_out:
        emit_json({"entries": rows})
        return
    if not rows:
        console.print("要確認の値はありません / no flagged values" if status == FLAGGED else
                      "保留行はありません / no quarantined rows")
        return
    table = Table(title=f"{source} の要確認の値（行は取込済み）" if status == FLAGGED else f"{source} の保留行")
    for header in ("ファイル", "行", "列", "値", "理由"):
        table.add_column(header)
    for entry in rows:
        table.add_row(entry["file_name"], str(entry["row_number"]), entry["column_name"], entry["value"], entry["rule"])
    console.print(table)


@quarantine_app.command("export")
def quarantine_export(
    out: Path = typer.Option(..., "--out", help="書き出すCSVファイル（UTF-8 BOM付き、Excelで開ける）"),
    source: str | None = typer.Option(None, "--source", help="データソースIDで絞り込む"),
    flagged: bool = typer.Option(False, "--flagged", help="保留行ではなく要確認の値（取込済みの行）を書き出す"),
    as_role: StewardRole = "data_steward",
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """保留行（--flagged なら要確認の値）をCSVに書き出す（数式として解釈されうるセルはエスケープ）。"""
    settings = settings_for(home)
    authorise_steward(settings, as_role)
    status = FLAGGED if flagged else q.OPEN
    rows = [e for v in _vaults(settings) for e in q.entries(v, source=source, status=status)]
    if source and not rows and source not in manifests_for_home(settings.home).manifests:
        fail(f"データソース {source!r} はありません / unknown source")
    header = ["department", "source", "file_name", "row_number", "column_name", "value", "rule", "raw"]
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        count = write_rows(handle, header, ([e[h] for h in header] for e in rows))
    if json_out:
        emit_json({"file": str(out), "rows": count})
    else:
        console.print(f"{count} 件を書き出しました: {out}")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.add_typer(quarantine_app, name="quarantine")
