"""``tsunagu registers files|legal-basis``: the 個人情報ファイル簿 and the legal-basis register.

Both are generated from the catalogue, the manifests and the hub's periods, so the published
register says what the system actually holds. They hold no personal data: no audit entry.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tsunagu.commands.common import (
    HomeOption,
    JsonOption,
    console,
    emit_json,
    err_console,
    reported_errors,
    settings_for,
)
from tsunagu.handover import registers as handover_registers
from tsunagu.hub import Hub
from tsunagu.work.rights.registers import (
    file_register,
    legal_basis_register,
    write_basis_register,
    write_file_register,
)
from tsunagu.work.rights.retention import hub_periods

registers_app = typer.Typer(help="個人情報ファイル簿・法的根拠の一覧", no_args_is_help=True)
OutOption = typer.Option(None, "--out", help="CSV（UTF-8 BOM付き、Excelで開ける）に書き出す", dir_okay=False)


@registers_app.command("files")
def files_command(home: HomeOption = None, json_out: JsonOption = False, out: Path | None = OutOption) -> None:
    """個人情報ファイル簿（部署のデータソースごと・ハブの記録ごと）。"""
    settings = settings_for(home)
    with reported_errors(), Hub(settings) as hub:
        entries = file_register(hub.policy, hub.manifests, hub_periods(settings.home))
        entries += handover_registers.file_entries()
    if out is not None:
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            count = write_file_register(handle, entries)
        err_console.print(f"[green]✔[/] {out}（{count}件）")
    if json_out:
        emit_json(entries)
    elif out is None:
        table = Table(title=f"個人情報ファイル簿（{len(entries)}件）")
        for header in ("名称", "保有する組織", "記録項目", "要配慮", "保存期間"):
            table.add_column(header)
        for e in entries:
            table.add_row(e.name, e.holder, f"{len(e.items)}項目", "含む" if e.sensitive else "", e.retention)
        console.print(table)


@registers_app.command("legal-basis")
def legal_basis_command(home: HomeOption = None, json_out: JsonOption = False, out: Path | None = OutOption) -> None:
    """データソースごとの目的外利用の根拠条項と、記録された相当の理由。"""
    settings = settings_for(home)
    with reported_errors(), Hub(settings) as hub:
        entries = legal_basis_register(hub.catalog, hub.manifests)
        entries += handover_registers.basis_entries()  # the two hand-over acts and their grounds
    if out is not None:
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            count = write_basis_register(handle, entries)
        err_console.print(f"[green]✔[/] {out}（{count}件）")
    if json_out:
        emit_json(entries)
    elif out is None:
        table = Table(title=f"法的根拠（{len(entries)}件）")
        for header in ("データソース", "保有部署", "根拠条項", "相当の理由"):
            table.add_column(header)
        for e in entries:
            table.add_row(f"{e.label}（{e.source}）", e.holder, e.clause, e.reason)
        console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(registers_app, name="registers")
