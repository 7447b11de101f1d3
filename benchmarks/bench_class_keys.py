"""What the class (組) costs search on an existing, linked home (e.g. one built by ``tsunagu demo``):
asking the nodes for the roster's classes, writing the search keys with and without them (in a
transaction rolled back: the home is left as it was), and a class search at a school. Figures only
— no test times anything.

Usage: .venv/bin/python benchmarks/bench_class_keys.py --home H [--repeat 15]
Writes benchmarks/results/class-keys-<children>.json (children: the latest run's count).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select

from tsunagu.config import load_settings
from tsunagu.hub import Hub
from tsunagu.link.records import gather
from tsunagu.link.searchkeys import gather_classes, write_search_keys
from tsunagu.privacy import Subject
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.work.search import search_children

RESULTS = Path(__file__).resolve().parent / "results"
T = TypeVar("T")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(work: Callable[[], T]) -> tuple[T, dict[str, float]]:
    wall, used = time.perf_counter(), cpu()
    result = work()
    return result, {"cpu_s": round(cpu() - used, 3), "wall_s": round(time.perf_counter() - wall, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    settings = load_settings(args.home)
    figures: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    with Hub(settings) as hub:
        nodes, manifests, secret = hub.nodes(), hub.manifests, hub.search_secret
        inputs, figures["gather_identifiers"] = measured(lambda: gather(nodes, manifests, "bench"))
        classes, figures["gather_classes"] = measured(lambda: gather_classes(nodes, manifests, "bench"))
        figures["roster_records_with_a_class"] = classes.height
        today = datetime.now(UTC).date()
        for name, extra in (("write_keys_without_classes", None), ("write_keys_with_classes", classes)):
            session = hub.sessions()
            try:
                used, wall = cpu(), time.perf_counter()
                rows = write_search_keys(session, inputs.records, secret, today, extra)
                figures[name] = {"cpu_s": round(cpu() - used, 3), "wall_s": round(time.perf_counter() - wall, 3),
                                 "rows": rows}
            finally:
                session.rollback()  # the home keeps its own keys
                session.close()
        with hub.sessions() as session:
            run = session.scalars(select(ScreeningRun).order_by(ScreeningRun.started_at.desc())).first()
            children = run.children if run is not None else 0
            school, grade = session.execute(
                select(ScreeningResult.school_code, ScreeningResult.grade)
                .where(ScreeningResult.school_code.like("B%"), ScreeningResult.grade == 3)
                .group_by(ScreeningResult.school_code, ScreeningResult.grade)
                .order_by(func.count().desc()).limit(1)).one()
        centre = Subject("bench", "centre_caseworker", "family_centre")
        cpus, found = [], 0
        for _ in range(args.repeat):
            with hub.sessions.begin() as session:
                used = cpu()
                result = search_children(session, centre, "screening", "3年2組", secret=secret, nodes=nodes,
                                         manifests=manifests, school=school)
                cpus.append(cpu() - used)
                found = result.total
        figures["class_search"] = {"query": "3年2組 at the elementary school with the most 3rd-graders",
                                   "grade": grade, "found": found,
                                   "cpu_ms_median": round(statistics.median(cpus) * 1000, 1)}
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out = {"children": children, "note": "one process; the machine was shared with other jobs (load average above)",
           "figures": figures}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"class-keys-{children}.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
