"""``tsunagu catalog list|show``: the data-item catalogue."""

from __future__ import annotations

import typer
from rich.table import Table

from tsunagu.catalog import DOMAIN_LABELS, DataItem, default_catalog
from tsunagu.commands.common import JsonOption, console, emit_json, fail

catalog_app = typer.Typer(help="データ項目カタログ", no_args_is_help=True)

SENSITIVITY = {1: "1 通常", 2: "2 要配慮", 3: "3 最も機微"}


def _item_json(item: DataItem) -> dict[str, object]:
    catalog = default_catalog()
    data = item.model_dump(mode="json")
    data["department_name"] = catalog.department(item.department).name
    data["legal_basis_text"] = str(item.legal_basis)
    return data


@catalog_app.command("list")
def list_items(
    department: str | None = typer.Option(None, "--department", help="部署IDで絞り込む"),
    json_out: JsonOption = False,
) -> None:
    """カタログの全データ項目を一覧表示する。"""
    catalog = default_catalog()
    if department is not None and department not in catalog.departments:
        fail(f"部署 {department!r} はカタログにありません（{', '.join(catalog.departments)}）")
    items = [i for i in catalog.items.values() if department is None or i.department == department]
    if json_out:
        emit_json({"departments": [d.model_dump(mode="json") for d in catalog.departments.values()],
                   "items": [_item_json(i) for i in items]})
        return
    table = Table(title=f"データ項目カタログ（{len(items)}項目）")
    for header in ("ID", "項目", "領域", "区分", "保有部署", "型", "機微度", "根拠", "保存年限"):
        table.add_column(header)
    for item in items:
        table.add_row(
            item.id, item.label, DOMAIN_LABELS[item.domain], "基本" if item.tier == "basic" else "任意",
            catalog.department(item.department).name, item.value_type, SENSITIVITY[item.sensitivity],
            str(item.legal_basis), f"{item.retention_years}年",
        )
    console.print(table)


@catalog_app.command("show")
def show_item(item_id: str = typer.Argument(..., help="データ項目ID"), json_out: JsonOption = False) -> None:
    """1つのデータ項目を詳しく表示する。"""
    catalog = default_catalog()
    if item_id not in catalog.items:
        fail(f"データ項目 {item_id!r} はカタログにありません / unknown data item")
    data = _item_json(catalog.items[item_id])
    if json_out:
        emit_json(data)
        return
    for key, value in data.items():
        console.print(f"[bold]{key}[/]: {value}")


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
