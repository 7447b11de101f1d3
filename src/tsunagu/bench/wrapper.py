"""Run one command and report its resource use: ``python -m tsunagu.bench.wrapper [--limit-mb M] -- cmd …``.

The wrapper exists so that ``getrusage(RUSAGE_CHILDREN)`` covers exactly one stage: a stage run
straight from the benchmark process would share that counter with every earlier stage. Its last
stderr line is ``BENCH-USAGE {json}`` (peak RSS in kB, user and system CPU seconds, and whether it
stopped the command for exceeding the memory limit). The command's own stdout and stderr pass
through unchanged.

The memory watchdog keeps a stage that would not fit from driving the shared machine into the
kernel's OOM killer (which might pick someone else's process): the whole process tree's RSS is
polled and the command is killed, and reported as such, once it passes the limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

MARKER = "BENCH-USAGE "
POLL_SECONDS = 0.25


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # the task ended between listing and reading
            continue
    return found


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, in kB (0 once it is gone)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
        todo += _children(current)
    return total


def _kill_tree(pid: int) -> None:
    todo, victims = [pid], []
    while todo:
        current = todo.pop()
        victims.append(current)
        todo += _children(current)
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


def run(cmd: list[str], limit_kb: int | None) -> dict[str, object]:
    child = subprocess.Popen(cmd)
    over = threading.Event()
    if limit_kb is not None and os.path.isdir("/proc"):
        def watch() -> None:
            while child.poll() is None:
                if tree_rss_kb(child.pid) > limit_kb:
                    over.set()
                    _kill_tree(child.pid)
                    return
                over.wait(POLL_SECONDS)

        threading.Thread(target=watch, daemon=True).start()
    returncode = child.wait()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"returncode": returncode, "maxrss_kb": usage.ru_maxrss, "user_seconds": usage.ru_utime,
            "system_seconds": usage.ru_stime, "killed_over_limit": over.is_set()}


def main(argv: list[str]) -> int:
    limit_kb: int | None = None
    if argv[:1] == ["--limit-mb"]:
        limit_kb = int(argv[1]) * 1024
        argv = argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.stderr.write("usage: python -m tsunagu.bench.wrapper [--limit-mb M] -- command …\n")
        return 2
    report = run(argv, limit_kb)
    sys.stderr.write(f"\n{MARKER}{json.dumps(report)}\n")
    code = report["returncode"]
    return code if isinstance(code, int) and code >= 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
