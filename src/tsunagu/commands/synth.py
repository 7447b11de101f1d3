"""``tsunagu synth``: a synthetic municipality's department exports with the truth behind them."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tsunagu.commands.common import JsonOption, console, emit_json, reported_errors


def synth(
    children: int = typer.Option(..., "--children", min=1, help="子どもの数"),
    seed: int = typer.Option(..., "--seed", help="乱数の種（同じ種・プロファイルなら同じ出力）"),
    out: Path = typer.Option(..., "--out", help="出力フォルダ（exports/ と truth/ を作る）"),
    profile: str = typer.Option("default", "--profile", help="プロファイル名（default / noisy / small-town）またはYAMLのパス"),
    json_out: JsonOption = False,
) -> None:
    """合成データ（架空の自治体）を生成する。実在の子どものデータは使わない。"""
    from tsunagu.synth import generate

    with reported_errors(FileNotFoundError, ValueError):
        summary = generate(children, seed, profile, out)
    if json_out:
        emit_json({"children": summary.children, "persons": summary.persons, "rows_per_source": summary.rows_per_source,
                   "files": summary.files, "seconds": summary.seconds, "profile": summary.profile, "seed": summary.seed,
                   "export_date": summary.export_date})
        return
    table = Table(title=f"合成データ（子ども {summary.children:,}人・{summary.seconds:.1f}秒）")
    table.add_column("データソース")
    table.add_column("行数", justify="right")
    for source, rows in summary.rows_per_source.items():
        table.add_row(source, f"{rows:,}")
    console.print(table)
    console.print(f"出力: {out}/exports（部署のエクスポート）, {out}/truth（正解）")


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
