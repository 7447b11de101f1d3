"""Benchmark of ingest throughput (``tsunagu ingest``), normalisation included.

Generates a synthetic municipality once (cached under benchmarks/work/, keyed by size and seed),
then ingests all of its exports into a fresh home in a child process, so that the peak memory and
CPU time measured are the ingest's own:

    .venv/bin/python benchmarks/bench_ingest.py                       # 100,000 children
    .venv/bin/python benchmarks/bench_ingest.py --children 5000 --label quick
    .venv/bin/python benchmarks/bench_ingest.py --repeat 3            # the median of three runs

To measure another checkout (e.g. the code before a change), put its ``src`` first on PYTHONPATH.

Rows per CPU-second is the per-core figure: CPU time counts every thread of the process, so work
spread over threads is not mistaken for single-core speed. The issue's target is ≥ 50,000 rows/s
per core. Results go to benchmarks/results/ingest-<N>.json, one entry per --label (a new run with
the same label replaces the old one, so "before" and "after" can sit side by side); a table is
printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORK = HERE / "work"
TARGET_ROWS_PER_CPU_SECOND = 50_000


def municipality(children: int, seed: int, profile: str) -> Path:
    """The exports folder of a cached synthetic municipality, generated on first use."""
    out = WORK / f"ingest-synth-{children}-seed{seed}-{profile}"
    done = out / "generated.json"
    if not done.is_file():
        from tsunagu.synth import generate

        shutil.rmtree(out, ignore_errors=True)
        print(f"generating {children:,} children (seed {seed}) into {out} …", flush=True)
        summary = generate(children, seed, profile, out)
        # Written last: a half-generated folder (interrupted run) is regenerated next time.
        done.write_text(
            json.dumps({"persons": summary.persons, "rows_per_source": summary.rows_per_source}, indent=2) + "\n",
            encoding="utf-8",
        )
    return out / "exports"


def _worker(exports: Path, home: Path, summary_file: Path) -> None:
    """Runs inside the child: init a fresh home and ingest every export, timing each file."""
    os.environ.pop("TSUNAGU_DATABASE_URL", None)  # the benchmark measures the embedded (SQLite) vaults
    from tsunagu.catalog.manifest import packaged_manifests
    from tsunagu.config import load_settings
    from tsunagu.home import init_home
    from tsunagu.ingest.load import Ingestor
    from tsunagu.municipality import Municipality

    init_home(home, Municipality("272205", "つなぐ市"))
    settings = load_settings(home)
    manifests = packaged_manifests()
    ingestor = Ingestor(manifests, settings.vault_dir, settings.hub_url)
    per_source: dict[str, dict[str, float]] = {}
    last_wall, last_cpu = time.perf_counter(), time.process_time()

    def progress(path: Path) -> None:
        nonlocal last_wall, last_cpu
        wall, cpu = time.perf_counter(), time.process_time()
        manifest = manifests.for_file(path.name)
        entry = per_source.setdefault(manifest.source if manifest else "(unmatched)", {"wall": 0.0, "cpu": 0.0})
        entry["wall"] += wall - last_wall
        entry["cpu"] += cpu - last_cpu
        last_wall, last_cpu = wall, cpu

    started_wall, started_cpu = time.perf_counter(), time.process_time()
    try:
        report = ingestor.ingest([exports], progress=progress)
    finally:
        ingestor.close()
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    sources = {
        s.source: {
            "files": s.files,
            "rows_in": s.rows_in,
            "loaded": s.loaded,
            "quarantined": s.quarantined,
            "wall_seconds": round(per_source.get(s.source, {}).get("wall", 0.0), 3),
            "cpu_seconds": round(per_source.get(s.source, {}).get("cpu", 0.0), 3),
        }
        for s in report.sources()
    }
    summary_file.write_text(
        json.dumps(
            {"wall_seconds": wall, "cpu_seconds": cpu, "sources": sources, "refused": report.refused},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def run(children: int, seed: int, profile: str, label: str) -> dict[str, object]:
    exports = municipality(children, seed, profile)
    with tempfile.TemporaryDirectory(prefix="ingest-home-", dir=WORK) as tmp:
        home, summary_file = Path(tmp) / "home", Path(tmp) / "summary.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(exports), str(home), str(summary_file)]
        started = time.perf_counter()
        child = subprocess.Popen(cmd)
        # wait4 gives this child's own rusage (peak RSS), not the maximum over all children.
        _, status, usage = os.wait4(child.pid, 0)
        process_wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"ingest worker failed (exit {os.waitstatus_to_exitcode(status)})")
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
    sources: dict[str, dict[str, float]] = summary["sources"]
    rows = int(sum(s["rows_in"] for s in sources.values()))
    wall, cpu = float(summary["wall_seconds"]), float(summary["cpu_seconds"])
    for s in sources.values():
        s["rows_per_cpu_second"] = round(s["rows_in"] / s["cpu_seconds"]) if s["cpu_seconds"] else 0
    return {
        "label": label,
        "children": children,
        "seed": seed,
        "profile": profile,
        "rows_in": rows,
        "loaded": int(sum(s["loaded"] for s in sources.values())),
        "quarantined": int(sum(s["quarantined"] for s in sources.values())),
        "files_refused": len(summary["refused"]),
        "ingest_wall_seconds": round(wall, 2),
        "ingest_cpu_seconds": round(cpu, 2),
        "rows_per_second_wall": round(rows / wall),
        "rows_per_cpu_second": round(rows / cpu),
        "target_rows_per_cpu_second": TARGET_ROWS_PER_CPU_SECOND,
        "process_wall_seconds": round(process_wall, 2),  # includes interpreter start-up and init_home
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports kilobytes
        "sources": sources,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def record(result: dict[str, object]) -> Path:
    """Add the run to ingest-<N>.json, replacing an earlier run with the same label."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"ingest-{result['children']}.json"
    runs: list[dict[str, object]] = []
    if path.is_file():
        runs = [r for r in json.loads(path.read_text(encoding="utf-8")).get("runs", []) if r["label"] != result["label"]]
    runs.append(result)
    path.write_text(json.dumps({"runs": runs}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def print_table(result: dict[str, object]) -> None:
    sources = result["sources"]
    assert isinstance(sources, dict)
    print(f"{'source':<15} {'rows in':>10} {'loaded':>10} {'quar.':>7} {'wall s':>8} {'cpu s':>8} {'rows/cpu-s':>11}")
    for name, s in sorted(sources.items()):
        print(
            f"{name:<15} {s['rows_in']:>10,} {s['loaded']:>10,} {s['quarantined']:>7,} "
            f"{s['wall_seconds']:>8.2f} {s['cpu_seconds']:>8.2f} {s['rows_per_cpu_second']:>11,}"
        )
    verdict = "ok" if int(str(result["rows_per_cpu_second"])) >= TARGET_ROWS_PER_CPU_SECOND else "BELOW TARGET"
    print(
        f"{'total':<15} {result['rows_in']:>10,} {result['loaded']:>10,} {result['quarantined']:>7,} "
        f"{result['ingest_wall_seconds']:>8} {result['ingest_cpu_seconds']:>8} {result['rows_per_cpu_second']:>11,}"
    )
    print(
        f"[{result['label']}] {result['children']:,} children: {result['rows_per_second_wall']:,} rows/s wall, "
        f"{result['rows_per_cpu_second']:,} rows/s per core (target {TARGET_ROWS_PER_CPU_SECOND:,}: {verdict}), "
        f"peak RSS {result['peak_rss_mb']} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--label", default="current", help="name of this run in the results file (e.g. before, after)")
    parser.add_argument("--repeat", type=int, default=1, help="run this many times; the median run is recorded")
    parser.add_argument("--worker", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker(*args.worker)
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    runs = sorted((run(args.children, args.seed, args.profile, args.label) for _ in range(max(1, args.repeat))),
                  key=lambda r: int(str(r["rows_per_cpu_second"])))
    result = runs[len(runs) // 2]
    if len(runs) > 1:  # machines are noisy: keep every run's headline figures beside the median's details
        result["repeats"] = [
            {k: r[k] for k in ("rows_per_cpu_second", "rows_per_second_wall", "ingest_cpu_seconds",
                               "ingest_wall_seconds", "peak_rss_mb")}
            for r in runs
        ]
    path = record(result)
    print_table(result)
    print(f"written to {path.relative_to(HERE.parent)}")
    return 0 if int(str(result["rows_per_cpu_second"])) >= TARGET_ROWS_PER_CPU_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
