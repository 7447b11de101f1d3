"""``tsunagu bench``: every stage on a fresh synthetic municipality, timed stage by stage."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tsunagu.bench import DEFAULT_THINK_MS
from tsunagu.commands.common import JsonOption, console, emit_json, err_console

DOC = "docs/performance.md"


def bench(
    children: int = typer.Option(..., "--children", min=100, help="合成する子どもの数"),
    profile: str = typer.Option("default", "--profile", help="合成データのプロファイル"),
    seed: int = typer.Option(1, "--seed", help="乱数の種"),
    skip_baseline: bool = typer.Option(False, "--skip-baseline", help="素のSplinkとの比較を省く"),
    web_users: int = typer.Option(20, "--web-users", min=1, help="同時に操作する利用者の数"),
    web_seconds: float = typer.Option(30.0, "--web-seconds", min=1.0, help="画面の負荷をかける秒数"),
    web_max_requests: int = typer.Option(20_000, "--web-max-requests", min=1, help="画面への要求の上限"),
    web_think_ms: float = typer.Option(
        DEFAULT_THINK_MS, "--web-think-ms", min=0.0, help="利用者がクリックの間に置く平均の間（ミリ秒、0で間なし）"),
    work: Path | None = typer.Option(None, "--work", help="作業フォルダ（既定: benchmarks/work/bench-<profile>-<N>）"),
    memory_limit_mb: int | None = typer.Option(
        None, "--memory-limit-mb", min=256, help="1段階のメモリ上限（超えたら止めて失敗として記録。既定: 物理メモリの85%）"),
    json_out: JsonOption = False,
) -> None:
    """合成データの自治体で、生成・取込・名寄せ・スクリーニング・画面の負荷を段階ごとに計測する。"""
    from tsunagu.bench.machine import memory_limit_mb as default_limit
    from tsunagu.bench.pipeline import ROOT, BenchOptions, run_bench
    from tsunagu.bench.report import stage_figures, update_performance_doc
    from tsunagu.bench.results import load_results, write_result

    options = BenchOptions(children=children, profile=profile, seed=seed, work=work, skip_baseline=skip_baseline,
                           web_users=web_users, web_seconds=web_seconds, web_max_requests=web_max_requests,
                           web_think_ms=web_think_ms,
                           memory_limit_mb=memory_limit_mb or default_limit())
    say = (err_console if json_out else console).print
    result = run_bench(options, lambda line: say(f"[dim]bench[/] {line}", soft_wrap=True))
    results_dir = ROOT / "benchmarks" / "results"
    path = write_result(result, results_dir)
    update_performance_doc(ROOT / DOC, load_results(results_dir))
    if json_out:
        emit_json(result)
        return
    table = Table(title=f"tsunagu bench: {children:,} children ({profile}, seed {seed})")
    for header in ("stage", "status", "wall s", "peak MB", "figures"):
        table.add_column(header)
    for key, entry in result["stages"].items():
        table.add_row(key, entry["status"], str(entry.get("wall_seconds", "–")), str(entry.get("peak_rss_mb", "–")),
                      stage_figures(key, entry))
    console.print(table)
    for name, versus in result["comparison"].items():
        if versus:
            console.print(f"{name}: tsunagu/Splink wall ×{versus['wall_ratio_tsunagu_to_splink']}, "
                          f"recall {versus['recall_difference']:+.5f}")
    console.print(f"written to {path} and {DOC}")
    if any(e["status"] == "failed" for e in result["stages"].values()):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
