"""Benchmark: the statistics report on a demo town — gathering, suppression, the whole report, the PDF.

Usage: .venv/bin/python benchmarks/bench_stats.py [--children 20000] [--home H] [--repeat 3]

Without --home, builds (or reuses) a demo home with `tsunagu demo --no-serve` under
benchmarks/work/demo-<N> (the demo records its reviews and referrals, so the evaluation and
budget tables have data). Writes benchmarks/results/stats-<N>.json: the best of --repeat runs of
each step, the number of tables and of suppressed cells.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tsunagu.config import load_settings
from tsunagu.hub import Hub
from tsunagu.privacy import Subject
from tsunagu.stats.budget import PROGRAMMES_FILE, load_programmes
from tsunagu.stats.evaluation import evaluation, referral_specs
from tsunagu.stats.export import pdf_bytes
from tsunagu.stats.figures import aggregates, indicators
from tsunagu.stats.report import build_report
from tsunagu.stats.source import gather
from tsunagu.stats.tables import publish_all

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
RESULTS = ROOT / "benchmarks" / "results"
SUBJECT = Subject("bench", "statistics_officer", "bench")


def _best(step: Any, repeat: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = step()
        times.append(time.perf_counter() - started)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = args.home or WORK / f"demo-{args.children}"
    if args.home is None:
        tsunagu = str(Path(sys.executable).parent / "tsunagu")
        subprocess.run([tsunagu, "demo", "--no-serve", "--json", "--children", str(args.children), "--home", str(home)],
                       check=True, capture_output=True)
    settings = load_settings(home)
    plan = load_programmes(home / PROGRAMMES_FILE)
    figures: dict[str, Any] = {"home": str(home), "children": args.children}
    with Hub.open(settings) as hub, hub.sessions() as session:
        nodes = hub.nodes()
        figures["gather_s"], data = _best(lambda: gather(session, nodes, SUBJECT.role), args.repeat)
        specs = aggregates(data) + indicators(data) + evaluation(data) + referral_specs(data, plan.fiscal_year)
        figures["suppress_s"], tables = _best(lambda: publish_all(specs, settings.statistics_k), args.repeat)
        figures["tables"] = len(tables)
        figures["cells"] = sum(len(t.rows) * len(t.cols) for t in tables)
        figures["suppressed"] = sum(t.suppressed_count() for t in tables)
        figures["report_s"], report = _best(
            lambda: build_report(session, nodes, SUBJECT, k=settings.statistics_k, programmes=plan), args.repeat)
        session.rollback()  # the benchmark's audit entries are not kept
    figures["pdf_s"], pdf = _best(lambda: pdf_bytes(report, settings.municipality_name or ""), args.repeat)
    figures["pdf_bytes"] = len(pdf)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"stats-{args.children}.json"
    out.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
