"""Where a command's memory goes: its RSS sampled while named functions run.

Polars, Arrow and DuckDB allocate outside Python's allocator, so tracemalloc sees little of a
linkage or screening run; the process's resident set does. This runs one tsunagu command in
process, wraps the functions named below (in every module that imported them) so that each call
is a mark, samples RSS every few milliseconds from a thread, and prints, for each mark, the
highest RSS seen while it was the innermost running one, and RSS on entry and exit.

    .venv/bin/python benchmarks/stage_memory.py --marks link -- link --home HOME --json
    .venv/bin/python benchmarks/stage_memory.py --marks screen -- screen --as-of 2026-04-01 --home HOME --json
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
LIVE = os.environ.get("STAGE_MEMORY_LIVE") == "1"

MARKS = {
    "link": [
        "tsunagu.link.records:gather", "tsunagu.link.records:_ask", "tsunagu.link.records:_spine",
        "tsunagu.link.records:_registry_relationships", "tsunagu.link.index:previous_links",
        "tsunagu.link.stages:to_score", "tsunagu.link.stages:plan_model", "tsunagu.link.stages:score",
        "tsunagu.link.probabilistic:count_comparisons", "tsunagu.link.probabilistic:_side",
        "tsunagu.link.probabilistic:_linker", "tsunagu.link.probabilistic:_train",
        "tsunagu.link.probabilistic:link_probabilistic", "tsunagu.link.outcome:store_keyed",
        "tsunagu.link.outcome:store_scored", "tsunagu.link.outcome:store_outcome",
        "tsunagu.link.stages:assign_links", "tsunagu.link.stages:write",
        "tsunagu.link.searchkeys:write_search_keys", "tsunagu.link.run:_record",
        "tsunagu.link.identity:stable_ids", "tsunagu.link.households:household_membership",
        "tsunagu.link.index:write_links", "tsunagu.link.index:write_persons",
        "tsunagu.link.households:write_households", "tsunagu.link.identity:cluster_records",
    ],
    "screen": [
        "tsunagu.screen.runs.inputs:gather", "tsunagu.screen.runs.inputs:_links",
        "tsunagu.screen.runs.inputs:_households", "tsunagu.screen.runs.inputs:_people",
        "tsunagu.screen.runs.inputs:_map_to_people",
        "tsunagu.screen.runs.inputs:_spread", "tsunagu.screen.runs.inputs:_Observations.add",
        "tsunagu.screen.runs.inputs:_Observations.whole",
        "tsunagu.screen.runs.inputs:_with_school", "tsunagu.screen.runs.inputs:ScreeningInputs.digest",
        "tsunagu.screen.runs.run:_whole_list", "tsunagu.screen.runs.run:_previous",
        "tsunagu.screen.runs.run:_rows", "tsunagu.screen.runs.rows:result_rows",
        "tsunagu.screen.runs.rows:listed_rows", "tsunagu.screen.runs.run:_write", "tsunagu.screen:evaluate",
        "tsunagu.screen.runs.run:run_screening",
    ],
    "node": ["tsunagu.vault.node:LocalNode.items", "tsunagu.vault.node:LocalNode.identifiers",
             "tsunagu.vault.node:frame_digest"],
}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


class Recorder:
    """The marks running in each thread, and the highest RSS seen under each innermost mark."""

    def __init__(self) -> None:
        self.stacks: dict[int, list[str]] = {}
        self.peak: dict[str, float] = {}
        self.calls: list[dict[str, Any]] = []
        self.top = (0.0, "")
        self.started = time.perf_counter()

    def label(self) -> str:
        inner = [stack[-1] for stack in list(self.stacks.values()) if stack]
        return " + ".join(sorted(inner)) or "(outside marks)"

    def sample(self) -> None:
        rss, label = rss_mb(), self.label()
        if rss > self.peak.get(label, 0.0):
            self.peak[label] = rss
        if rss > self.top[0]:
            self.top = (rss, label)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def marked(*args: Any, **kwargs: Any) -> Any:
            stack = self.stacks.setdefault(threading.get_ident(), [])
            entry = rss_mb()
            stack.append(name)
            self.sample()
            if LIVE:
                # A run that the kernel kills for memory prints no summary: each mark as it starts,
                # with the RSS then, shows where the growth was.
                print(f"{time.perf_counter() - self.started:8.1f} s {entry:8.0f} MB  enter {name}", file=sys.stderr, flush=True)
            try:
                return function(*args, **kwargs)
            finally:
                self.sample()
                stack.pop()
                self.calls.append({"mark": name, "t": round(time.perf_counter() - self.started, 2),
                                   "entry_mb": round(entry), "exit_mb": round(rss_mb())})
        return marked


def install(recorder: Recorder, specs: list[str]) -> None:
    for spec in specs:
        module_name, _, attr = spec.partition(":")
        module = importlib.import_module(module_name)
        owner: Any = module
        *path, leaf = attr.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        original = getattr(owner, leaf, None)
        if original is None:  # a mark of another version of the code
            print(f"no {spec}: not marked", file=sys.stderr)
            continue
        wrapped = recorder.wrap(attr, original)
        setattr(owner, leaf, wrapped)
        if path:
            continue
        for other in list(sys.modules.values()):  # every module that imported it by name
            if other is not None and getattr(other, leaf, None) is original:
                setattr(other, leaf, wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marks", nargs="+", default=["link", "screen", "node"], choices=sorted(MARKS))
    parser.add_argument("--every", type=float, default=0.02, help="seconds between samples")
    parser.add_argument("--out", help="write the marks' figures here as JSON")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    command = [c for c in options.command if c != "--"]
    import tsunagu.cli as cli
    for module in ("tsunagu.commands.link", "tsunagu.commands.screen", "tsunagu.link.run", "tsunagu.screen.runs.run"):
        importlib.import_module(module)
    recorder = Recorder()
    install(recorder, [spec for group in options.marks for spec in MARKS[group]])
    done = threading.Event()

    def sampling() -> None:
        while not done.wait(options.every):
            recorder.sample()

    sampler = threading.Thread(target=sampling, daemon=True)
    sampler.start()
    sys.argv = ["tsunagu", *command]
    code: object = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code
    finally:
        done.set()
        sampler.join()
    peaks = sorted(recorder.peak.items(), key=lambda kv: -kv[1])
    print(f"peak {recorder.top[0]:.0f} MB under: {recorder.top[1]}", file=sys.stderr)
    for label, mb in peaks[:25]:
        print(f"{mb:8.0f} MB  {label}", file=sys.stderr)
    if options.out:
        with open(options.out, "w") as f:
            json.dump({"peak_mb": recorder.top[0], "peak_under": recorder.top[1], "by_mark": dict(peaks),
                       "calls": recorder.calls, "exit": str(code)}, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
