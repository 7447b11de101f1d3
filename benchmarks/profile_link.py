"""Where a linkage run's CPU goes: each stage, each blocking count and each Splink SQL step.

    python benchmarks/profile_link.py [--out FILE] [--sql-dir DIR] [--plans DIR] -- link --home H --json

Runs ``tsunagu <args>`` in this process (the ordinary command, nothing else changed) with three
timers added around code the run calls anyway:

- ``link.stages.Stages.done``: the wall seconds the report already has, with the process's CPU
  seconds (user + system, all threads) at each mark;
- each blocking rule's exact count (``probabilistic._count``) and u's estimate (``uprob.with_u``);
- every SQL statement Splink sends to DuckDB (``DuckDBAPI._log_and_run_sql_execution``), by its
  table name (``__splink__df_predict``, ``__splink__blocked_id_pairs`` …), summed over the run.

CPU seconds are the process's: during ``scoring`` Splink (in its own thread) runs beside the
departments' gathering and a first run's keyed writes, so a step's CPU there includes whatever the
other thread did meanwhile; the wall seconds of the Splink steps are their own. Prints a table and
writes JSON (``--out``). Compare two sizes (e.g. 100k and 200k) to see which step grows faster than
the records do.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.steps: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "wall_s": 0.0, "cpu_s": 0.0})
        self.stages: list[dict[str, Any]] = []
        self._stage_cpu = _cpu()

    def add(self, name: str, wall: float, cpu: float) -> None:
        with self.lock:
            step = self.steps[name]
            step["calls"] += 1
            step["wall_s"] += wall
            step["cpu_s"] += cpu

    def timed(self, name: Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), _cpu()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(name(*args, **kwargs), time.perf_counter() - started, _cpu() - cpu)
        return wrapper


def _install(recorder: Recorder, sql_dir: Path | None, plans: Path | None) -> None:
    from splink.internals.duckdb.database_api import DuckDBAPI

    from tsunagu.link import probabilistic, stages, uprob

    original_done = stages.Stages.done

    def done(self: Any, stage: str) -> None:
        original_done(self, stage)
        now = _cpu()
        recorder.stages.append({"stage": stage, "wall_s": self.seconds[stage], "cpu_s": round(now - recorder._stage_cpu, 2)})
        recorder._stage_cpu = now

    stages.Stages.done = done  # type: ignore[method-assign]
    probabilistic._count = recorder.timed(lambda con, rule: "count " + "+".join(rule), probabilistic._count)
    probabilistic.with_u = recorder.timed(lambda *a, **k: "uprob.with_u", uprob.with_u)  # type: ignore[attr-defined]
    probabilistic._kept = recorder.timed(lambda *a, **k: "_kept (pairs out of DuckDB)", probabilistic._kept)
    run_sql = DuckDBAPI._log_and_run_sql_execution

    def splink_sql(self: Any, final_sql: str, templated_name: str, physical_name: str) -> Any:
        if sql_dir is not None:
            (sql_dir / f"{len(recorder.stages):02d}-{physical_name}.sql").write_text(final_sql, encoding="utf-8")
        if plans is not None:  # DuckDB's own profile of the statement: its operators' times and row counts
            self._con.execute("SET enable_profiling = 'json'")
            self._con.execute(f"SET profiling_output = '{plans / (physical_name + '.json')}'")
        started, cpu = time.perf_counter(), _cpu()
        try:
            return run_sql(self, final_sql, templated_name, physical_name)
        finally:
            recorder.add("splink " + templated_name, time.perf_counter() - started, _cpu() - cpu)
            if plans is not None:
                self._con.execute("SET enable_profiling = 'no_output'")

    DuckDBAPI._log_and_run_sql_execution = splink_sql  # type: ignore[method-assign,misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--sql-dir", type=Path, help="write each SQL statement Splink sends here")
    parser.add_argument("--plans", type=Path, help="write DuckDB's profile (operators, rows, seconds) of each here")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    args = [a for a in options.args if a != "--"]
    recorder = Recorder()
    for folder in (options.sql_dir, options.plans):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    _install(recorder, options.sql_dir, options.plans)
    from tsunagu.cli import main as cli

    started, cpu = time.perf_counter(), _cpu()
    sys.argv = ["tsunagu", *args]
    try:
        cli()
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise
    total = {"wall_s": round(time.perf_counter() - started, 2), "cpu_s": round(_cpu() - cpu, 2),
             "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    steps = {name: {k: round(v, 3) for k, v in step.items()} for name, step in
             sorted(recorder.steps.items(), key=lambda item: -item[1]["wall_s"])}
    result = {"args": args, "total": total, "stages": recorder.stages, "steps": steps}
    print(f"total: {total}", file=sys.stderr)
    for stage in recorder.stages:
        print(f"  stage {stage['stage']:<14} wall {stage['wall_s']:>8.2f}  cpu {stage['cpu_s']:>8.2f}", file=sys.stderr)
    for name, step in steps.items():
        print(f"  {name:<60} x{int(step['calls']):<3} wall {step['wall_s']:>8.2f}  cpu {step['cpu_s']:>8.2f}",
              file=sys.stderr)
    if options.out is not None:
        options.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
