"""``tsunagu ingest`` and ``tsunagu quarantine``: loading exports and fixing the rows that failed."""

from __future__ import annotations

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
from tsunagu.ingest.load import Ingestor, IngestReport, expand_paths
from tsunagu.privacy import authorise
from tsunagu.vault import quarantine as q
from tsunagu.vault.store import Vault, VaultLocation

StewardRole = Annotated[str, typer.Option("--as-role", help="CLIを使う人の役割（既定: data_steward）。アクセス記録に残ります")]


def authorise_steward(settings: Settings, as_role: str) -> None:
    """Loading exports and reading quarantined rows handle personal data: decided and recorded."""
    with hub_session(settings) as session:
        decision = authorise(session, cli_subject(as_role, "cli", back_office_only=False), "sources.load",
                             "administration", key=signing_key(settings))
    if not decision.allowed:
        refuse(decision.reason)


def run_ingest(settings: Settings, paths: list[Path], show_progress: bool) -> IngestReport:
    ingestor = Ingestor(manifests_for_home(settings.home), settings.vault_dir, settings.hub_url)
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
    as_role: StewardRole = "data_steward",
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """部署のエクスポートを各部署の保管庫に取り込む（全行を取込または保留に振り分ける）。"""
    settings = settings_for(home)
    authorise_steward(settings, as_role)
    with reported_errors():
        report = run_ingest(settings, paths, show_progress=not json_out and sys.stderr.isatty())
    if json_out:
        emit_json(report.as_json())
    else:
        table = Table(title="取込結果 / ingest")
        for header in ("データソース", "部署", "ファイル数", "入力行", "取込", "保留", "状態"):
            table.add_column(header)
        for s in report.sources():
            state = "取込済み（変更なし）" if s.already_loaded else "取込"
            table.add_row(s.source, s.department, str(s.files), str(s.rows_in), str(s.loaded),
                          f"[red]{s.quarantined}[/]" if s.quarantined else "0", state)
        console.print(table)
        for refused in report.refused:
            console.print(f"[bold red]取込拒否[/] {refused['reason']}")
    if report.refused:
        raise typer.Exit(1)


quarantine_app = typer.Typer(help="保留（取り込めなかった行）の確認と修正用の書き出し", no_args_is_help=True)


def _vaults(settings: Settings) -> list[Vault]:
    manifests = manifests_for_home(settings.home)
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
    table = Table(title="保留行 / quarantined rows")
    for header in ("部署", "データソース", "ファイル", "行数", "問題数"):
        table.add_column(header)
    for s in summaries:
        table.add_row(s.department, s.source, s.file_name, str(s.rows), str(s.problems))
    console.print(table if summaries else "保留行はありません / no quarantined rows")


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
    settings = settings_for(home)
    authorise_steward(settings, as_role)
    with reported_errors(KeyError):
        department = manifests_for_home(settings.home).get(source).department
    vault = Vault(VaultLocation.for_home(department, settings.vault_dir, settings.hub_url))
    rows = q.entries(vault, source=source, row_number=row, limit=limit)
    if json_out:
        emit_json({"entries": rows})
        return
    if not rows:
        console.print("保留行はありません / no quarantined rows")
        return
    table = Table(title=f"{source} の保留行")
    for header in ("ファイル", "行", "列", "値", "理由"):
        table.add_column(header)
    for entry in rows:
        table.add_row(entry["file_name"], str(entry["row_number"]), entry["column_name"], entry["value"], entry["rule"])
    console.print(table)


@quarantine_app.command("export")
def quarantine_export(
    out: Path = typer.Option(..., "--out", help="書き出すCSVファイル（UTF-8 BOM付き、Excelで開ける）"),
    source: str | None = typer.Option(None, "--source", help="データソースIDで絞り込む"),
    as_role: StewardRole = "data_steward",
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """保留行をCSVに書き出す（数式として解釈されうるセルはエスケープ）。"""
    settings = settings_for(home)
    authorise_steward(settings, as_role)
    rows = [e for v in _vaults(settings) for e in q.entries(v, source=source)]
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
