"""``tsunagu init``: create a municipality's home."""

from __future__ import annotations

from pathlib import Path

import typer

from tsunagu.commands.common import HomeOption, JsonOption, console, emit_json, reported_errors
from tsunagu.config import resolve_home
from tsunagu.home import HomeConflictError, init_home
from tsunagu.municipality import Municipality, MunicipalityCodeError


def init(
    name: str = typer.Option(..., "--name", help="自治体名（例: 箕面市）"),
    code: str = typer.Option(..., "--code", help="6桁の地方公共団体コード（例: 272205）"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """自治体のホーム（設定・部署別データ保管庫・ハブ）を作成する。既存なら何も変えない。"""
    folder: Path = resolve_home(home)
    with reported_errors(MunicipalityCodeError, HomeConflictError):
        result = init_home(folder, Municipality(code=code.strip(), name=name.strip()))
    if json_out:
        emit_json(result)
        return
    if result.created:
        console.print(f"[green]✔[/] {result.municipality_name}（{result.municipality_code}）のホームを作成しました: {folder}")
        console.print(f"  ハブの保存先: {result.hub_url}（スキーマ {result.hub_revision}）")
    else:
        console.print(
            f"[yellow]•[/] {folder} は既に {result.municipality_name}（{result.municipality_code}）のホームです。"
            "何も変更していません / already initialised, nothing changed"
        )


def register(app: typer.Typer) -> None:
    app.command("init")(init)
