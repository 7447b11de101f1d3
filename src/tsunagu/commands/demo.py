"""``tsunagu demo``: a synthetic municipality through every stage, in one command."""

from __future__ import annotations

import time

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from tsunagu.commands.common import HomeOption, JsonOption, console, emit_json, reported_errors
from tsunagu.commands.serve_demo import HOST, PORT, serve_demo
from tsunagu.config import resolve_home
from tsunagu.demo import DemoSummary, build_demo
from tsunagu.home import HomeConflictError
from tsunagu.web.serving import check_port

STAGES = {
    "init": "ホームの作成", "synth": "合成データの生成", "ingest": "各部署の保管庫への取込",
    "link": "名寄せ", "screen": "一次スクリーニング",
    "urgency": "児童相談所の過去事例と緊急度推定の検証", "resources": "社会資源の一覧",
}


def _print_summary(summary: DemoSummary, seconds: float) -> None:
    table = Table(title=f"デモ自治体の準備ができました（{seconds:.0f}秒）")
    table.add_column("項目")
    table.add_column("値", justify="right")
    table.add_row("子ども（合成データ）", f"{summary.children:,}")
    table.add_row("取込行 / 保留行", f"{summary.ingest.get('loaded', 0):,} / {summary.ingest.get('quarantined', 0):,}")
    linkage = summary.linkage
    table.add_row("名寄せ: 個人 / 確率的リンク / 確認待ち",
                  f"{linkage.get('persons', 0):,} / {linkage.get('probabilistic_links', 0):,} / {linkage.get('review_pairs', 0):,}")
    for tier, count in summary.screening.get("by_tier", {}).items():
        table.add_row(f"候補: {tier}", f"{count:,}")
    if "no_mark" in summary.screening:
        table.add_row("ノーマーク（どの支援機関も把握していない候補）", f"{summary.screening['no_mark']:,}")
    console.print(table)
    console.print(f"ホーム: {summary.home}  （合成データ: {summary.home}/synthetic）")


def demo(
    children: int = typer.Option(20_000, "--children", min=100, help="合成する子どもの数"),
    seed: int = typer.Option(1, "--seed", help="乱数の種（同じ種なら同じデータ）"),
    profile: str = typer.Option("default", "--profile", help="合成データのプロファイル"),
    no_serve: bool = typer.Option(False, "--no-serve", help="画面を起動せずに終了する"),
    host: str = typer.Option(HOST, "--host", help="待ち受けるアドレス（既定: この機械の中だけ）"),
    port: int = typer.Option(PORT, "--port", min=1, max=65535, help="待ち受けるポート"),
    home: HomeOption = None,
    json_out: JsonOption = False,
) -> None:
    """合成データの自治体を作り、取込・名寄せ・スクリーニングまで実行する。"""
    folder = resolve_home(home)
    started = time.perf_counter()
    with reported_errors(HomeConflictError, RuntimeError):
        if not no_serve:
            check_port(host, port)  # before a minute of building, not after it
        if json_out:
            summary = build_demo(folder, children, seed, profile)
        else:
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                          console=console, transient=False) as progress:
                tasks: dict[str, TaskID] = {}

                def stage(name: str) -> None:
                    for task in tasks.values():
                        progress.update(task, completed=1, total=1)
                    tasks[name] = progress.add_task(STAGES[name], total=None)

                summary = build_demo(folder, children, seed, profile, stage)
                for task in tasks.values():
                    progress.update(task, completed=1, total=1)
    if json_out:
        emit_json(summary)
    else:
        _print_summary(summary, time.perf_counter() - started)
    serve_demo(folder, quiet=json_out, serve=not no_serve, host=host, port=port)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
