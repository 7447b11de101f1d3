"""Benchmark of the synthetic municipality generator (``tsunagu synth``).

Each size runs in its own child process, so its wall time and peak memory are its own:

    .venv/bin/python benchmarks/bench_synth.py                    # 20,000 children
    .venv/bin/python benchmarks/bench_synth.py --children 500000  # 20,000 and 500,000

Results go to benchmarks/results/synth-<N>.json; a table is printed. Budgets (the generator's
brief): 20k children in ≤ 30 s, 500k in ≤ 5 min, peak memory ≤ 8 GB, on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORK = HERE / "work"
BUDGET_SECONDS = {20_000: 30.0, 500_000: 300.0}
BUDGET_RSS_MB = 8 * 1024


def _worker(children: int, seed: int, profile: str, out: Path, summary_file: Path) -> None:
    """Runs inside the child: generate, then leave the summary for the parent."""
    from tsunagu.synth import generate

    summary = generate(children, seed, profile, out)
    summary_file.write_text(
        json.dumps(
            {
                "persons": summary.persons,
                "rows_per_source": summary.rows_per_source,
                "files": len(summary.files),
                "generator_seconds": summary.seconds,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def run_one(children: int, seed: int, profile: str, keep: bool) -> dict[str, object]:
    out = WORK / f"synth-{children}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    summary_file = out / "summary.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(children),
        "--seed",
        str(seed),
        "--profile",
        profile,
    ]
    cmd += ["--out", str(out), "--summary", str(summary_file)]
    started = time.perf_counter()
    child = subprocess.Popen(cmd)
    # wait4 gives this child's own rusage; RUSAGE_CHILDREN (below) is the maximum over all children
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"generator failed for {children} children (exit {child.returncode})")
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    peak_mb = usage.ru_maxrss / 1024  # Linux reports kilobytes
    result: dict[str, object] = {
        "children": children,
        "seed": seed,
        "profile": profile,
        "wall_seconds": round(wall, 2),
        "generator_seconds": summary["generator_seconds"],
        "peak_rss_mb": round(peak_mb, 1),
        "rusage_children_maxrss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "persons": summary["persons"],
        "rows_total": sum(summary["rows_per_source"].values()),
        "rows_per_source": summary["rows_per_source"],
        "files": summary["files"],
        "budget_seconds": BUDGET_SECONDS.get(children),
        "budget_rss_mb": BUDGET_RSS_MB,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"synth-{children}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return result


def _verdict(result: dict[str, object]) -> str:
    budget = result["budget_seconds"]
    wall = float(str(result["wall_seconds"]))
    rss = float(str(result["peak_rss_mb"]))
    ok = rss <= BUDGET_RSS_MB and (budget is None or wall <= float(str(budget)))
    return "ok" if ok else "OVER BUDGET"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, action="append", default=[], help="also run this size (repeatable)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--keep", action="store_true", help="keep the generated files under benchmarks/work/")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--summary", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker(args.worker, args.seed, args.profile, args.out, args.summary)
        return 0
    sizes = sorted({20_000, *args.children})
    results = [run_one(n, args.seed, args.profile, args.keep) for n in sizes]
    print(f"{'children':>10} {'persons':>10} {'rows':>11} {'wall s':>8} {'peak MB':>9} {'budget s':>9}  verdict")
    for r in results:
        budget = "-" if r["budget_seconds"] is None else f"{r['budget_seconds']:.0f}"
        print(
            f"{r['children']:>10,} {r['persons']:>10,} {r['rows_total']:>11,} {r['wall_seconds']:>8} "
            f"{r['peak_rss_mb']:>9} {budget:>9}  {_verdict(r)}"
        )
    return 0 if all(_verdict(r) == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
