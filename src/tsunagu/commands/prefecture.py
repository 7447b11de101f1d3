"""``tsunagu prefecture``: linkage and statistics across a prefecture's municipalities (docs/prefecture.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tsunagu.commands.common import JsonOption, console, emit_json, reported_errors

if TYPE_CHECKING:
    from tsunagu.prefecture.engine import DuckDBOptions, SparkOptions

prefecture_app = typer.Typer(help="都道府県（市町村をまたぐ名寄せと統計）")

HomesOption = typer.Option(..., "--homes", help="市町村のホームフォルダ（2つ以上。--homes A --homes B …）")
EngineOption = typer.Option("duckdb", "--engine", help="duckdb（この機械で）/ spark（Spark のローカルモードまたはクラスタ）")
MasterOption = typer.Option("local[2]", "--master", help="Spark のマスターURL（例: spark://host:7077、yarn）")
MemoryOption = typer.Option("4g", "--driver-memory", help="Spark ドライバのメモリ")
PartitionsOption = typer.Option(4, "--shuffle-partitions", min=1, help="Spark のシャッフルのパーティション数")
CheckpointOption = typer.Option(None, "--checkpoint-dir", help="Spark の中間結果の置き場所（クラスタでは全ノードから読める場所）")
LocalDirOption = typer.Option(None, "--local-dir", help="Spark が溢れたデータを書く場所（spark.local.dir、既定: 一時フォルダ）")
DuckDBMemoryOption = typer.Option(None, "--memory-limit", help="DuckDB のメモリ上限（例: 6GB、既定: DuckDB の既定＝機械の8割）")
AsOfOption = typer.Option(None, "--as-of", help="基準日（YYYY-MM-DD、既定: 今日）。この日に18歳未満の子どもが対象")


def _options(master: str, driver_memory: str, shuffle_partitions: int, checkpoint_dir: str | None,
             local_dir: str | None, memory_limit: str | None) -> tuple[SparkOptions, DuckDBOptions]:
    from tsunagu.prefecture.engine import DuckDBOptions, SparkOptions  # the CLI starts without polars and Splink

    return (SparkOptions(master=master, driver_memory=driver_memory, shuffle_partitions=shuffle_partitions,
                         checkpoint_dir=checkpoint_dir, local_dir=local_dir),
            DuckDBOptions(memory_limit=memory_limit))


@prefecture_app.command("link")
def link(
    homes: list[Path] = HomesOption,
    engine: str = EngineOption,
    master: str = MasterOption,
    driver_memory: str = MemoryOption,
    shuffle_partitions: int = PartitionsOption,
    checkpoint_dir: str | None = CheckpointOption,
    local_dir: str | None = LocalDirOption,
    memory_limit: str | None = DuckDBMemoryOption,
    as_of: str | None = AsOfOption,
    truth: Path | None = typer.Option(None, "--truth", help="合成の県の truth フォルダ（精度を測る）"),
    out: Path | None = typer.Option(None, "--out", help="複数の市町村で見つかった子ども（市町村コードと宛名番号）のCSV"),
    json_out: JsonOption = False,
) -> None:
    """複数の市町村の住民記録で同じ子どもを見つける（転居した子どもの把握）。"""
    from tsunagu.prefecture.link import evaluate, link_prefecture

    with reported_errors(ValueError, FileNotFoundError):
        day = date.fromisoformat(as_of) if as_of else date.today()
        options, duckdb = _options(master, driver_memory, shuffle_partitions, checkpoint_dir, local_dir, memory_limit)
        result = link_prefecture(homes, engine, as_of=day, spark=options, duckdb=duckdb)
        summary = result.summary()
        if truth is not None:
            summary["evaluation"] = evaluate(result, truth)
        if out is not None:
            result.across().write_csv(out)
    if json_out:
        emit_json(summary)
        return
    table = Table(title=f"市町村をまたぐ名寄せ（{engine}、{sum(summary['seconds'].values()):.1f}秒）")
    table.add_column("項目")
    table.add_column("値", justify="right")
    table.add_row("市町村", "、".join(result.municipalities.values()))
    table.add_row("子ども（記録）", f"{summary['children']:,}")
    table.add_row("人（名寄せ後）", f"{summary['persons']:,}")
    table.add_row("複数の市町村で見つかった子ども", f"{summary['persons_in_several_municipalities']:,}")
    table.add_row("確認待ちの組（つながず）", f"{summary['review_pairs']:,}")
    if "evaluation" in summary:
        table.add_row("適合率", f"{summary['evaluation']['precision']:.4f}")
        table.add_row("再現率", f"{summary['evaluation']['recall']:.4f}")
    console.print(table)
    if out is not None:
        console.print(f"出力: {out}")


@prefecture_app.command("stats")
def stats(
    homes: list[Path] = HomesOption,
    engine: str = EngineOption,
    master: str = MasterOption,
    driver_memory: str = MemoryOption,
    shuffle_partitions: int = PartitionsOption,
    checkpoint_dir: str | None = CheckpointOption,
    local_dir: str | None = LocalDirOption,
    memory_limit: str | None = DuckDBMemoryOption,
    as_of: str | None = AsOfOption,
    k: int = typer.Option(10, "--k", min=2, help="この人数未満のセルを秘匿する"),
    json_out: JsonOption = False,
) -> None:
    """県全体の統計（市町村別の子ども、市町村間の転居。少数のセルは秘匿）。"""
    from tsunagu.prefecture.stats import prefecture_tables
    from tsunagu.stats.tables import grid

    with reported_errors(ValueError):
        day = date.fromisoformat(as_of) if as_of else date.today()
        options, duckdb = _options(master, driver_memory, shuffle_partitions, checkpoint_dir, local_dir, memory_limit)
        tables = prefecture_tables(homes, engine, as_of=day, k=k, spark=options, duckdb=duckdb)
    if json_out:
        emit_json({"as_of": day, "k": k, "tables": [t.public() for t in tables]})
        return
    console.print(f"[bold]県全体の統計[/]（{day}時点。{k}人未満のセルと逆算できるセルは「秘匿」）")
    for table in tables:
        shown_grid = grid(table)
        shown = Table(title=table.title)
        for n, head in enumerate(shown_grid.header):
            shown.add_column(head, justify="left" if n == 0 else "right")
        for label, cells in shown_grid.rows + ([shown_grid.totals] if shown_grid.totals else []):
            shown.add_row(label, *[c.text() for c in cells])
        console.print(shown)
        if table.note:
            console.print(table.note, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(prefecture_app, name="prefecture")
