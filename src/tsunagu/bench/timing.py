"""Timing one stage: wall time, CPU time and peak memory of a command run under the wrapper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tsunagu.bench.wrapper import MARKER

TAIL_CHARS = 4000


@dataclass(frozen=True)
class StageRun:
    """What one wrapped command cost, and what it printed."""

    command: list[str]
    wall_seconds: float
    cpu_seconds: float | None
    peak_rss_mb: float | None
    returncode: int
    killed_over_limit: bool
    stdout: str
    stderr_tail: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.killed_over_limit

    def failure(self) -> str:
        """One honest line on why the stage failed (for the result file and the table)."""
        if self.killed_over_limit:
            return f"stopped: peak memory over the limit ({self.peak_rss_mb} MB)"
        if self.returncode < 0 or self.returncode == 137:
            return f"killed by signal (exit {self.returncode}); likely out of memory"
        last = [line for line in self.stderr_tail.splitlines() if line.strip()]
        return f"exit {self.returncode}: {last[-1][:300] if last else 'no message'}"


def _usage(stderr: str) -> tuple[dict[str, object], str]:
    """The wrapper's usage record, and stderr without it."""
    head, sep, tail = stderr.rpartition(MARKER)
    if not sep:
        return {}, stderr
    line, _, _rest = tail.partition("\n")
    try:
        return dict(json.loads(line)), head
    except ValueError:
        return {}, stderr


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def run_stage(cmd: list[str], *, limit_mb: int | None = None, cwd: Path | None = None,
              env: Mapping[str, str] | None = None) -> StageRun:
    """Run ``cmd`` in its own wrapper process; stdout is captured whole, stderr's tail is kept."""
    wrapper = [sys.executable, "-m", "tsunagu.bench.wrapper"]
    if limit_mb is not None:
        wrapper += ["--limit-mb", str(limit_mb)]
    started = time.perf_counter()
    done = subprocess.run([*wrapper, "--", *cmd], capture_output=True, text=True, check=False, cwd=cwd,
                          env=dict(env) if env is not None else None)
    wall = time.perf_counter() - started
    usage, stderr = _usage(done.stderr)
    maxrss = _number(usage.get("maxrss_kb"))
    user, system = _number(usage.get("user_seconds")), _number(usage.get("system_seconds"))
    code = usage.get("returncode")
    return StageRun(
        command=cmd,
        wall_seconds=round(wall, 2),
        cpu_seconds=round(user + system, 2) if user is not None and system is not None else None,
        peak_rss_mb=round(maxrss / 1024, 1) if maxrss is not None else None,  # Linux reports kB
        returncode=code if isinstance(code, int) else done.returncode,
        killed_over_limit=bool(usage.get("killed_over_limit")),
        stdout=done.stdout,
        stderr_tail=stderr[-TAIL_CHARS:],
    )


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MB) and stdout of one stage; raises if it failed (bench_link.py's helper)."""
    stage = run_stage(cmd)
    if not stage.ok:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stage.stdout[-2000:]}\n{stage.stderr_tail}")
    return stage.wall_seconds, int(stage.peak_rss_mb or 0), stage.stdout


def child_env(*, keep_database_url: bool = False) -> dict[str, str]:
    """The environment for stage processes: the benchmark measures the embedded (SQLite) stores,
    unless ``keep_database_url`` (``tsunagu bench``, whose stages — the web server too — then measure the
    hub at ``TSUNAGU_DATABASE_URL`` when it is set). ``TSUNAGU_HOME`` is dropped: each stage is given a home."""
    env = dict(os.environ)
    if not keep_database_url:
        env.pop("TSUNAGU_DATABASE_URL", None)
    env.pop("TSUNAGU_HOME", None)
    return env
