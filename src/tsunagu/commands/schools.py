"""``tsunagu schools load|list``: the 学校マスタ (school names by 学校コード) of the home."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tsunagu.catalog.schools import install_school_master, school_names
from tsunagu.commands.common import HomeOption, JsonOption, console, emit_json, reported_errors, settings_for
from tsunagu.yamlstrict import ConfigError

schools_app = typer.Typer(help="学校マスタ（学校コードと学校名）", no_args_is_help=True)


@schools_app.command("load")
def load_command(
    file: Path = typer.Argument(..., help="学校マスタのYAML（schools: の下に code と name）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """学校マスタを検査して自治体ホームに置く（前のものは置き換える）。"""
    settings = settings_for(home)
    with reported_errors(ConfigError):
        master = install_school_master(file, settings.home)
    if json_out:
        emit_json({"schools": len(master.schools)})
        return
    console.print(f"学校マスタを読み込みました（{len(master.schools)}校）。")


@schools_app.command("list")
def list_command(home: HomeOption = None, json_out: JsonOption = False) -> None:
    """自治体ホームの学校マスタ。"""
    settings = settings_for(home)
    with reported_errors(ConfigError):
        names = school_names(settings.home)
    if json_out:
        emit_json([{"code": c, "name": n} for c, n in names.items()])
        return
    table = Table(title=f"学校マスタ（{len(names)}校）")
    table.add_column("学校コード")
    table.add_column("学校名")
    for code, name in names.items():
        table.add_row(code, name)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(schools_app, name="schools")
