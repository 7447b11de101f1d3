"""``tsunagu manifest draft|check``: onboarding a new export (docs/onboarding.md).

Both commands read a file the data steward points at and write no personal value: ``draft``
prints a proposed manifest (column → item, with confidence), ``check`` counts what would load, be
flagged or be quarantined under a manifest. Neither touches a vault.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tsunagu.catalog.manifest import load_manifest
from tsunagu.commands.common import JsonOption, console, emit_json, reported_errors
from tsunagu.ingest.draft import propose, render
from tsunagu.ingest.dryrun import CheckReport, check_file

manifest_app = typer.Typer(help="取込定義（manifest）の作成と確認", no_args_is_help=True)


@manifest_app.command("draft")
def draft(
    file: Path = typer.Argument(..., help="部署のエクスポート（CSV または xlsx）", exists=True, dir_okay=False),
) -> None:
    """ファイルの見出しと見本の行から取込定義の案を作り、YAMLで標準出力に書く（値そのものは書かない）。"""
    with reported_errors():  # an unreadable file is an InputError: exit 4
        proposal = propose(file)
    typer.echo(render(proposal), nl=False)


@manifest_app.command("check")
def check(
    file: Path = typer.Argument(..., help="確かめるエクスポート", exists=True, dir_okay=False),
    manifest: Path = typer.Option(..., "--manifest", help="取込定義（YAML）", exists=True, dir_okay=False),
    json_out: JsonOption = False,
) -> None:
    """取込定義のもとで、取り込まれる行・要確認の値・保留になる行を数える（保管庫には何も書かない）。"""
    with reported_errors():
        loaded = load_manifest(manifest)
    report = check_file(file, loaded)
    if json_out:
        emit_json(report.as_json())
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(1)


_OUTCOMES = {"quarantined": "保留（行を取り込まない）", "flagged": "要確認（行は取り込み、値は欠損扱い）"}


def _print(report: CheckReport) -> None:
    if report.status == "refused":
        console.print(f"[bold red]取込拒否[/] {report.reason}")
        return
    console.print(f"{Path(report.file).name}（{report.source}）: 文字コード {report.encoding}、出力日 {report.export_date or '不明'}")
    console.print(f"入力 {report.rows_in:,}行 → 取込 {report.would_load:,}行（うち要確認の値あり {report.would_flag:,}行）、"
                  f"保留 {report.would_quarantine:,}行")
    if report.problems:
        table = Table(title="問題のある列 / problems by column")
        for header in ("列", "扱い", "行数", "理由", "最初の行番号"):
            table.add_column(header)
        for p in report.problems:
            table.add_row(p.column, _OUTCOMES[p.outcome], f"{p.rows:,}", p.rule, ", ".join(map(str, p.first_rows)))
        console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]注意[/] {warning}")
    if report.status == "held":
        console.print(f"[bold red]取込保留[/] {report.reason}")


def register(app: typer.Typer) -> None:
    app.add_typer(manifest_app, name="manifest")
