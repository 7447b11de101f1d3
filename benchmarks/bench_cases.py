"""The case pages' cost on an existing home (e.g. one built by ``tsunagu demo``): the candidate list
with and without the case filters, the worklists, the ledger and the two PDFs, each requested
``--repeat`` times in process by one signed-in user. Figures only — no test times anything.

Usage: .venv/bin/python benchmarks/bench_cases.py --home H --user centre --password P [--repeat 20]
Writes benchmarks/results/cases-<children>.json (children: the latest run's count).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tsunagu.config import load_settings
from tsunagu.hub import Hub
from tsunagu.screen.runs.models import ScreeningRun
from tsunagu.web.app import create_app
from tsunagu.work.cases.models import Case, LedgerEntry

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PAGES = {
    "candidates": "/candidates", "candidates_status": "/candidates?status=支援中",
    "candidates_unassigned": "/candidates?owner=none", "cases_mine": "/cases/mine",
    "cases_unassigned": "/cases/unassigned", "cases_overdue": "/cases/overdue", "ledger": "/ledger",
    "agenda_pdf": "/ledger/agenda.pdf",
}
RESULTS = Path(__file__).resolve().parent / "results"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--user", default="centre")
    parser.add_argument("--password", required=True)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    settings = load_settings(args.home)
    with Hub(settings) as hub, hub.sessions() as session:
        children = session.scalars(select(ScreeningRun.children).order_by(ScreeningRun.started_at.desc())).first() or 0
        cases = len(list(session.scalars(select(Case.id))))
        entries = len(list(session.scalars(select(LedgerEntry.id))))
    with TestClient(create_app(settings)) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
        assert token is not None
        signed = client.post("/login", data={"user_id": args.user, "password": args.password,
                                             "csrf_token": token.group(1)}, follow_redirects=False)
        if signed.status_code != 303:
            raise SystemExit(f"sign-in failed ({signed.status_code})")
        person = client.get("/cases/unassigned").text
        found = re.search(r'href="/children/([^/"]+)/case', person)
        pages = dict(PAGES)
        if found:
            pages["case_page"] = f"/children/{found.group(1)}/case"
            pages["case_summary_pdf"] = f"/children/{found.group(1)}/case-summary.pdf"
        figures: dict[str, Any] = {}
        for name, url in pages.items():
            assert client.get(url).status_code == 200, url  # warm (the listing cache, the nodes)
            walls, start_cpu = [], cpu()
            for _ in range(args.repeat):
                began = time.perf_counter()
                assert client.get(url).status_code == 200, url
                walls.append(time.perf_counter() - began)
            walls.sort()
            figures[name] = {"median_ms": round(statistics.median(walls) * 1000, 1),
                             "p95_ms": round(walls[max(0, int(len(walls) * 0.95) - 1)] * 1000, 1),
                             "cpu_s_per_request": round((cpu() - start_cpu) / args.repeat, 4)}
    out = {"children": children, "cases": cases, "ledger_entries": entries, "repeat": args.repeat,
           "note": "one process, one user, in-process client; the machine was shared with other jobs",
           "pages": figures}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"cases-{children}.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
