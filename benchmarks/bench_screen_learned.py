"""Screening against its ceiling at a fixed list size, and the learned ranking after simulated rounds.

Usage: .venv/bin/python benchmarks/bench_screen_learned.py [--children 20000] [--profiles default noisy] [--rounds 3]
Needs the optional extra ``learn`` (``pip install -e '.[learn]'``).

For each profile: builds (or reuses) benchmarks/work/learned-<profile>-<N>/ (synth, ingest, link),
copies its home so every measurement starts from a town with no decisions, runs
``tsunagu screen simulate --rounds R --json`` and compares the figures with the targets of issue 25:
rules recall ≥ 0.90 × ceiling at the list size (15%) and ≥ 2 × the best single department; learned
ranking recall ≥ 0.97 × ceiling, held-out ECE ≤ 0.03. Wall and CPU seconds (of the child processes)
are recorded; the machine may be shared, so read CPU seconds first. Writes
benchmarks/results/screen-learned-<profile>-<N>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TSUNAGU = str(ROOT / ".venv" / "bin" / "tsunagu")
TARGETS = {"rules_to_ceiling": 0.90, "rules_to_single_department": 2.0, "model_to_ceiling": 0.97, "model_ece": 0.03}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(*args: str) -> str:
    done = subprocess.run([TSUNAGU, *args], check=True, capture_output=True, text=True)
    return done.stdout


def build(work: Path, profile: str, children: int, seed: int) -> None:
    if (work / "home" / "hub.sqlite3").is_file() and (work / "synth" / "truth" / "manifest.json").is_file():
        return
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _run("init", "--home", str(work / "home"), "--name", "箕面市", "--code", "272205")
    _run("synth", "--children", str(children), "--seed", str(seed), "--profile", profile, "--out", str(work / "synth"))
    _run("ingest", str(work / "synth" / "exports"), "--home", str(work / "home"))
    _run("link", "--home", str(work / "home"))


def measure(profile: str, children: int, rounds: int, seed: int) -> dict[str, Any]:
    work = ROOT / "benchmarks" / "work" / f"learned-{profile}-{children}"
    started, cpu = time.perf_counter(), _cpu()
    build(work, profile, children, seed)
    build_wall, build_cpu = time.perf_counter() - started, _cpu() - cpu
    home = work / "sim-home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(work / "home", home)
    started, cpu = time.perf_counter(), _cpu()
    figures = json.loads(_run("screen", "simulate", "--truth", str(work / "synth" / "truth"), "--home", str(home),
                              "--rounds", str(rounds), "--seed", str(seed), "--json"))
    wall, cpu_s = time.perf_counter() - started, _cpu() - cpu
    met = {
        "rules_to_ceiling": figures["rules_to_ceiling"] >= TARGETS["rules_to_ceiling"],
        "rules_to_single_department": (figures["rules_to_single_department"] or 0) >= TARGETS["rules_to_single_department"],
        "model_to_ceiling": figures["model_to_ceiling"] >= TARGETS["model_to_ceiling"],
        "model_ece": figures["model_ece"] <= TARGETS["model_ece"],
        "model_fairness_within_1_25": not figures["model_fairness_flags"],
    }
    return {"benchmark": "screen-learned", "profile": profile, "children": children, "rounds": rounds, "seed": seed,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                        "note": "shared machine (several sessions at once): compare CPU seconds"},
            "build": {"wall_seconds": round(build_wall, 1), "cpu_seconds": round(build_cpu, 1)},
            "simulate": {"wall_seconds": round(wall, 1), "cpu_seconds": round(cpu_s, 1)},
            "targets": TARGETS, "met": met, "figures": figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=20000)
    parser.add_argument("--profiles", nargs="+", default=["default", "noisy"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for profile in args.profiles:
        result = measure(profile, args.children, args.rounds, args.seed)
        out = ROOT / "benchmarks" / "results" / f"screen-learned-{profile}-{args.children}.json"
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        f = result["figures"]
        print(json.dumps({"profile": profile, **{k: f[k] for k in (
            "listed_share", "ceiling_recall", "rules_recall", "model_recall", "model_recall_cross_fitted", "model_ece",
            "single_department_recall")},
            "met": result["met"], "simulate": result["simulate"]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
