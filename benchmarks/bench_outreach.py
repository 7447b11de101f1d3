"""Benchmark: take-up gap lists against the synthetic truth, per programme, on the default and noisy towns.

Usage: .venv/bin/python benchmarks/bench_outreach.py [--children 20000] [--profiles default noisy] [--seed 1]
       [--letters 1000]

For each profile: build a demo home (synth → ingest → link → screen), run ``outreach`` as of the
export date, compare each programme's listed households with truth/programmes.csv (recall,
precision, households eligible and not receiving, and the misses the data could not see), then
render a wave of up to ``--letters`` letters for the households with the most gaps and time it
(wall and CPU seconds: wall time is noisy on a shared machine; the load average is recorded).
Writes benchmarks/results/outreach-<profile>-<N>.json. The target (issue #21): recall >= 0.95 and
precision >= 0.90 per programme where the data holds the conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from tsunagu.config import load_settings
from tsunagu.demo import build_demo
from tsunagu.hub import Hub
from tsunagu.outreach.notices import make_wave
from tsunagu.outreach.programmes import load_programmes
from tsunagu.outreach.run import run_outreach
from tsunagu.outreach.truth import evaluate_outreach
from tsunagu.privacy import Subject

ROOT = Path(__file__).resolve().parent.parent
RECALL_TARGET, PRECISION_TARGET = 0.95, 0.90


def _verdict(figures: dict[str, Any]) -> str:
    if not figures.get("receipt_in_data", True):
        return "receipt not in the data (eligibility only)"
    if figures.get("not_receiving") in (0, None):
        return "no household eligible and not receiving in the truth"
    recall, precision = figures.get("recall_where_data_holds"), figures.get("precision")
    ok = recall is not None and precision is not None and recall >= RECALL_TARGET and precision >= PRECISION_TARGET
    return "met" if ok else "not met"


def one(profile: str, children: int, seed: int, letters: int, work: Path) -> dict[str, Any]:
    home = work / f"home-{profile}"
    started = time.perf_counter()
    build_demo(home, children, seed, profile)
    built = time.perf_counter() - started
    settings = load_settings(home)
    truth = home / "synthetic" / "truth"
    as_of = date.fromisoformat(json.loads((truth / "manifest.json").read_text("utf-8"))["export_date"])
    programmes = load_programmes(settings.rules_path, settings.municipality_code)
    with Hub.open(settings) as hub:
        sessions, nodes = hub.sessions, hub.nodes()
        cpu_before = _cpu()
        with sessions.begin() as session:
            report = run_outreach(session, nodes, hub.manifests, hub.catalog, programmes, as_of)
        outreach_cpu = round(_cpu() - cpu_before, 2)
        load = os.getloadavg()
        with sessions.begin() as session:
            figures = evaluate_outreach(session, truth, report.run_id)
        wave_seconds = None
        wave: dict[str, Any] = {}
        if letters:
            t0, cpu_before = time.perf_counter(), _cpu()
            with sessions.begin() as session:
                made = make_wave(session, Subject("bench", "programme_officer", "maternal_child_health"), programmes,
                                 nodes, work / "letters", sent_on=as_of, limit=letters)
            wave_seconds = round(time.perf_counter() - t0, 2)
            wave = {"letters": made.letters, "languages": made.languages, "seconds": wave_seconds,
                    "cpu_seconds": round(_cpu() - cpu_before, 2)}
    for figures_of in figures["programmes"].values():
        figures_of["verdict"] = _verdict(figures_of)
    return {
        "profile": profile, "children": children, "seed": seed, "as_of": as_of.isoformat(),
        "demo_seconds": round(built, 1), "outreach_seconds": report.seconds, "outreach_cpu_seconds": outreach_cpu,
        "load_average_after_run": [round(x, 2) for x in load], "unavailable": report.unavailable,
        "programmes": figures["programmes"], "unreadable": figures.get("unreadable", {}), "wave": wave,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _cpu() -> float:
    """CPU seconds of this process so far (user + system): wall time is noisy on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=20000)
    parser.add_argument("--profiles", nargs="+", default=["default", "noisy"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the homes in this folder (for inspection)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-outreach-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for profile in args.profiles:
            result = one(profile, args.children, args.seed, args.letters, work)
            result["machine"] = {"python": platform.python_version(), "processor": platform.processor(),
                                 "system": platform.platform()}
            out = ROOT / "benchmarks" / "results" / f"outreach-{profile}-{args.children}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            print(f"{profile}: {out}")
            for name, f in result["programmes"].items():
                print(f"  {name:26} recall {f.get('recall')} (where data holds {f.get('recall_where_data_holds')}) "
                      f"precision {f.get('precision')} eligible {f.get('eligible')} not receiving "
                      f"{f.get('not_receiving')} — {f['verdict']}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
