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
    municipalities: int = typer.Option(1, "--municipalities", min=1, max=8,
                                       help="2以上: 合成の県（市町村ごとのフォルダと、市町村間の転居の正解 truth/moves.csv）"),
    json_out: JsonOption = False,
) -> None:
    """合成データ（架空の自治体）を生成する。実在の子どものデータは使わない。"""
    from tsunagu.synth import generate

    if municipalities > 1:
        _prefecture(children, municipalities, seed, profile, out, json_out)
        return

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


def _prefecture(children: int, municipalities: int, seed: int, profile: str, out: Path, json_out: bool) -> None:
    from tsunagu.synth.prefecture import generate_prefecture

    with reported_errors(FileNotFoundError, ValueError):
        summary = generate_prefecture(children, municipalities, seed, profile, out)
    if json_out:
        emit_json({"children": summary.children, "municipalities": summary.municipalities,
                   "moved_households": summary.moved_households, "moved_persons": summary.moved_persons,
                   "moved_children": summary.moved_children, "seconds": summary.seconds})
        return
    table = Table(title=f"合成の県（子ども {summary.children:,}人・{summary.seconds:.1f}秒）")
    table.add_column("市町村")
    table.add_column("コード")
    table.add_column("子ども", justify="right")
    table.add_column("フォルダ")
    for m in summary.municipalities:
        table.add_row(str(m["name"]), str(m["code"]), f"{m['children']:,}", f"{out}/{m['folder']}")
    console.print(table)
    console.print(f"県内の転居: {summary.moved_households:,}世帯・{summary.moved_persons:,}人（うち子ども {summary.moved_children:,}人）")
    console.print(f"正解: {out}/truth/moves.csv、市町村の一覧: {out}/prefecture.json")


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
