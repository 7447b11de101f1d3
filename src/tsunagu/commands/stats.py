"""``tsunagu stats``: the statistics report (suppressed tables), as a table, JSON, CSV, Excel or PDF."""

from __future__ import annotations

from pathlib import Path

import typer
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
from tsunagu.stats.report import Report
from tsunagu.stats.service import open_report
from tsunagu.stats.tables import grid

STATS_ROLES = ("statistics_officer", "privacy_officer", "administrator")


def _print(report: Report) -> None:
    when = f"{report.as_of}時点" if report.as_of else "スクリーニングの実行はまだありません"
    console.print(f"[bold]統計[/]（{when}。{report.k}人未満のセルと逆算できるセルは「秘匿」）")
    console.print(f"利用の根拠: {report.basis}", soft_wrap=True)
    for table in report.tables():
        shown_grid = grid(table)
        shown = Table(title=table.title)
        for n, head in enumerate(shown_grid.header):
            shown.add_column(head, justify="left" if n == 0 else "right")
        for label, cells in shown_grid.rows + ([shown_grid.totals] if shown_grid.totals else []):
            shown.add_row(label, *[c.text() for c in cells])
        console.print(shown)
    for line in report.programmes:
        per = f"{line.cost_per_child:,}円" if line.cost_per_child is not None else "—（秘匿または0人）"
        console.print(f"{line.name}: 年間 {line.yearly_cost:,}円 / 利用した子ども 1人あたり {per}", soft_wrap=True)
    if report.programmes_error:
        console.print(f"[yellow]事業・予算ファイル:[/] {report.programmes_error}", soft_wrap=True)


def stats(
    k: int | None = typer.Option(None, "--k", min=2, help="この人数未満のセルを秘匿する（既定: ホームの statistics_k、なければ10）"),
    programmes: Path | None = typer.Option(None, "--programmes", help="事業・予算ファイル（既定: <home>/budget/programmes.yaml）"),
    csv_out: Path | None = typer.Option(None, "--csv", help="表をCSV（UTF-8 BOM付き）に書き出す"),
    xlsx_out: Path | None = typer.Option(None, "--xlsx", help="表をExcelファイルに書き出す"),
    pdf_out: Path | None = typer.Option(None, "--pdf", help="議会向けのPDF報告書を書き出す"),
    as_role: str = typer.Option("statistics_officer", "--as-role", help="CLIを使う人の役割（アクセス記録に残ります）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """子どもの状況・予算・支援業務の評価の統計（少数のセルは秘匿）。"""
    if as_role not in STATS_ROLES:
        fail(f"--as-role は {' / '.join(STATS_ROLES)} のいずれかです（指定: {as_role}）")
    settings: Settings = settings_for(home)
    subject = cli_subject(as_role, "statistics", back_office_only=False)
    # Every TsunaguError (a refusal, a font, the programmes file) exits with its own code.
    # The writers (openpyxl, reportlab) are imported only when a file is asked for: every command
    # pays for the CLI's imports at start.
    from tsunagu.stats.export import write_csv, write_pdf, write_xlsx
    from tsunagu.work.rights.pdf import register_font

    with reported_errors(ValueError):
        if pdf_out is not None:
            register_font()  # before the read: a report that cannot be written is not read
        with Hub.open(settings) as hub:
            report = open_report(hub, subject, k=k, programmes_path=programmes, key=signing_key(settings))
        municipality = settings.municipality_name or ""
        if csv_out is not None:
            write_csv(report, csv_out)
        if xlsx_out is not None:
            write_xlsx(report, xlsx_out)
        if pdf_out is not None:
            write_pdf(report, pdf_out, municipality)
    if json_out:
        emit_json(report.public())
    else:
        _print(report)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
