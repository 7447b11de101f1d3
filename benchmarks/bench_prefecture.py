"""Cross-municipality linkage of a synthetic prefecture on DuckDB and on Spark (local mode), on the same data.

Makes a prefecture (``tsunagu synth --municipalities``), a home per municipality with its resident
register loaded (the only exports the prefecture's linkage reads), then runs ``tsunagu prefecture link``'s
code once per engine, each in a process of its own: wall seconds, CPU seconds (the process and its
descendants — Spark's JVM included) and peak memory (the sum of the process tree's resident sets, sampled
every 0.2 s), precision and recall of the cross-municipality pairs against truth/moves.csv, and whether
the two engines found the same persons. Writes benchmarks/results/bench-prefecture-<children>.json.

Usage: nice .venv/bin/python benchmarks/bench_prefecture.py --children 50000 [--municipalities 5] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
AS_OF = date(2026, 10, 31)  # the default profile's export date


def _tree(root: int, cpu: dict[int, float]) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc); ``cpu`` gets each one's CPU
    seconds so far. Spark's JVM is a child the worker never waits for: rusage would not count it."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    ticks: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(entry), int(fields[1])
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        ticks[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        cpu[pid] = max(cpu.get(pid, 0.0), ticks.get(pid, 0.0))
        stack.extend(children.get(pid, []))
    return total


def _measured(cmd: list[str], log: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()
    started = time.perf_counter()
    # stderr to a file: a long run's progress (each of Splink's steps) can be followed with tail -f
    with log.open("w", encoding="utf-8") as err_file:
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err_file, text=True)
    peak = [0]
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree(process.pid, cpu))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"{cmd[-1]} failed:\n{log.read_text(encoding='utf-8')[-3000:]}")
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures: dict[str, Any] = {"wall_seconds": round(time.perf_counter() - started, 1),
               # the larger of: what was waited for (rusage), and the process tree sampled every 0.2 s
               "cpu_seconds": round(max(waited, sum(cpu.values())), 1),
               "peak_mb": round(peak[0] / 2**20),
               "load_average_before": [round(x, 2) for x in load_before],
               "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    return json.loads(out.strip().splitlines()[-1]), figures


def _homes(synth: Path, work: Path) -> list[Path]:
    from tsunagu.catalog.manifest import packaged_manifests
    from tsunagu.home import init_home
    from tsunagu.ingest.load import Ingestor
    from tsunagu.municipality import Municipality

    listing = json.loads((synth / "prefecture.json").read_text(encoding="utf-8"))
    homes = []
    for m in listing["municipalities"]:
        home = work / "homes" / str(m["code"])
        init_home(home, Municipality(str(m["code"]), str(m["name"])))
        ingestor = Ingestor(packaged_manifests(), home / "vaults", f"sqlite:///{home / 'hub.sqlite3'}")
        try:
            for source in ("juki_jumin", "juki_idou"):
                for path in sorted((synth / str(m["folder"]) / "exports").glob(f"{source}_*.csv")):
                    ingestor.ingest_file(path)
        finally:
            ingestor.close()
        homes.append(home)
    return homes


def worker(engine: str, truth: Path, homes: list[Path], assignment: Path, args: argparse.Namespace) -> None:
    """One engine's run, in its own process; prints one line of JSON."""
    from tsunagu.prefecture.engine import DuckDBOptions, SparkOptions
    from tsunagu.prefecture.link import evaluate, link_prefecture

    scratch = assignment.parent / "scratch"
    spark = SparkOptions(driver_memory=args.driver_memory, shuffle_partitions=args.shuffle_partitions,
                         local_dir=str(scratch / "spark"))
    duckdb = DuckDBOptions(memory_limit=args.duckdb_memory, temp_dir=str(scratch / "duckdb"))
    result = link_prefecture(homes, engine, as_of=AS_OF, spark=spark, duckdb=duckdb)
    result.persons.assignment.write_parquet(assignment)
    print(json.dumps({**result.summary(), "evaluation": evaluate(result, truth)}, ensure_ascii=False, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--municipalities", type=int, default=5)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--engines", nargs="*", default=["duckdb", "spark"], help="none: only make the prefecture")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--driver-memory", default="6g", help="Spark's driver (in local mode, all of Spark)")
    parser.add_argument("--shuffle-partitions", type=int, default=4)
    parser.add_argument("--duckdb-memory", default="6GB", help="DuckDB's memory_limit")
    parser.add_argument("--reuse", action="store_true", help="keep WORK's prefecture and homes if they are there")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "TRUTH"), help=argparse.SUPPRESS)
    parser.add_argument("--homes", nargs="*", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--assignment", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]), args.homes, args.assignment, args)
        return
    from tsunagu.synth.prefecture import generate_prefecture

    work = args.work or Path(f"/tmp/tsunagu-bench-prefecture-{args.children}")
    made = work / "made.json"
    if args.reuse and made.is_file():  # the same prefecture again (another engine, other settings)
        earlier = json.loads(made.read_text(encoding="utf-8"))
        moved, synth_seconds, ingest_seconds = earlier["moved"], earlier["synth_seconds"], earlier["ingest_seconds"]
        homes = [Path(h) for h in earlier["homes"]]
    else:
        started = time.perf_counter()
        moved = generate_prefecture(args.children, args.municipalities, args.seed, "default", work / "synth").moved_children
        synth_seconds = round(time.perf_counter() - started, 1)
        print(f"synth: {synth_seconds} s", flush=True)
        started = time.perf_counter()
        homes = _homes(work / "synth", work)
        ingest_seconds = round(time.perf_counter() - started, 1)
        print(f"homes: {ingest_seconds} s", flush=True)
        made.write_text(json.dumps({"moved": moved, "synth_seconds": synth_seconds, "ingest_seconds": ingest_seconds,
                                    "homes": [str(h) for h in homes]}), encoding="utf-8")
    if not args.engines:
        return
    runs: dict[str, Any] = {}
    if args.reuse:  # an engine run earlier on this prefecture (its own invocation) is kept beside the new ones
        for saved in sorted(work.glob("run-*.json")):
            runs[saved.stem.removeprefix("run-")] = json.loads(saved.read_text(encoding="utf-8"))
    for engine in args.engines:
        assignment = work / f"assignment-{engine}.parquet"
        cmd = [sys.executable, __file__, "--worker", engine, str(work / "synth" / "truth"), "--assignment",
               str(assignment), "--driver-memory", args.driver_memory, "--shuffle-partitions",
               str(args.shuffle_partitions), "--duckdb-memory", args.duckdb_memory, "--homes", *map(str, homes)]
        print(f"{engine}: linking … (log: {work / f'{engine}.log'})", flush=True)
        report, figures = _measured(cmd, work / f"{engine}.log")
        runs[engine] = {**figures, **report}
        (work / f"run-{engine}.json").write_text(json.dumps(runs[engine], ensure_ascii=False, default=str),
                                                  encoding="utf-8")
        print(f"{engine}: {figures} precision {report['evaluation']['precision']:.4f}"
              f" recall {report['evaluation']['recall']:.4f}", flush=True)
        _write(args, work, runs, moved, synth_seconds, ingest_seconds)  # each engine's figures as soon as they exist


def _write(args: argparse.Namespace, work: Path, runs: dict[str, Any], moved: int, synth_seconds: float,
           ingest_seconds: float) -> None:
    import polars as pl

    from tsunagu.prefecture.persons import same_persons

    result: dict[str, Any] = {
        "children": args.children, "municipalities": args.municipalities, "seed": args.seed,
        "released_children": next(iter(runs.values()))["children"] if runs else None,
        "moved_children": moved, "synth_seconds": synth_seconds,
        "settings": {"spark_master": "local[2]", "spark_driver_memory": args.driver_memory,
                     "spark_shuffle_partitions": args.shuffle_partitions, "duckdb_memory_limit": args.duckdb_memory},
        "ingest_register_seconds": ingest_seconds, "runs": runs,
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(),
                    "note": "shared with other sessions during the run: wall times are noisy, CPU seconds less so"},
    }
    if {"duckdb", "spark"} <= set(runs):
        a = pl.read_parquet(work / "assignment-duckdb.parquet")
        b = pl.read_parquet(work / "assignment-spark.parquet")
        result["same_persons"] = same_persons(a, b)
        result["spark_over_duckdb"] = {key: round(runs["spark"][key] / runs["duckdb"][key], 2)
                                       for key in ("wall_seconds", "cpu_seconds", "peak_mb") if runs["duckdb"][key]}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-prefecture-{args.children}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"written: {path}")

if __name__ == "__main__":
    main()
