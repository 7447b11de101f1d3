"""The urgency estimate on held-out synthetic cases: discrimination, calibration, interval coverage.

Usage: .venv/bin/python benchmarks/bench_urgency.py [--seeds 1 2 3 7] [--cases 10000] [--out FILE]

For each seed: the synthetic child guidance centre history (``tsunagu.synth.cgc_history``), loaded
into a fresh hub, one version trained exactly as ``tsunagu urgency train`` does (cut-off one year
before the newest case; the last year held out), then validated on the held-out year. Reports
AUC, ECE (10 equal-width bins), critical_recall (held-out cases with a critical item shown as 緊急),
whether the version passed its gates, and interval coverage: the share of held-out groups (the
ten tenths of the estimate, and nationality, public assistance, age band and reporter groups of at
least 30 cases) whose observed protection rate lies inside the group's interval
(the bootstrap spread of the group's mean estimate widened by the chance variation of a rate
over the group's cases). Writes benchmarks/results/urgency.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.synth.cgc_history import write_history
from tsunagu.work.urgency.history import load_history
from tsunagu.work.urgency.versions import train_version

ROOT = Path(__file__).resolve().parent.parent
EXPORT_DATE = date(2026, 10, 31)


def one(seed: int, cases: int, folder: Path) -> dict[str, Any]:
    written = write_history(seed, EXPORT_DATE, folder / f"s{seed}", cases=cases)
    settings = Settings(home=folder / f"home{seed}")
    # a throwaway SQLite hub whatever TSUNAGU_DATABASE_URL says (set after Settings reads the environment)
    settings.database_url = f"sqlite:///{folder / f'hub{seed}.sqlite3'}"
    with Hub.open(settings) as hub:
        started = time.perf_counter()
        with hub.sessions.begin() as session:
            load_history(session, written.path)
            result = train_version(session, "benchmark")
    m = result.metrics
    return {"seed": seed, "cases": cases, "in_force": result.in_force, "failures": result.failures,
            "seconds": round(time.perf_counter() - started, 2),
            **{k: m[k] for k in ("auc", "ece", "brier", "critical_recall", "critical_cases", "held_out_cases",
                                 "held_out_protected", "protected_recall_urgent_or_high", "knn_auc", "knn_ece",
                                 "mean_interval_width", "interval_coverage")},
            "coverage_groups": m["coverage_groups"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 7])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "urgency.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [one(seed, args.cases, Path(tmp)) for seed in args.seeds]
    summary = {
        "runs": runs,
        "seeds_passing_gates": sum(r["in_force"] for r in runs),
        "ece_max": max(r["ece"] for r in runs),
        "auc_min": min(r["auc"] for r in runs),
        "critical_recall_min": min(r["critical_recall"] for r in runs),
        "interval_coverage_min": min(r["interval_coverage"] or 0 for r in runs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for r in runs:
        print(f"seed {r['seed']}: AUC {r['auc']} ECE {r['ece']} critical_recall {r['critical_recall']} "
              f"coverage {r['interval_coverage']} held-out {r['held_out_cases']} in force {r['in_force']}")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
