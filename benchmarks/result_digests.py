"""Digests of what linkage and screening stored in a home, comparable between two homes.

Person ids are drawn at random per run, so every person is named here by their smallest record
key (``source:local_id``) and every household by its smallest member's name; with that, two runs
on the same exports that stored the same links, review pairs, households and screening results
give the same digests whatever ids they drew. Used to hold a change to "same results" at sizes
the tests do not reach (docs/performance.md).

    .venv/bin/python benchmarks/result_digests.py HOME [HOME ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

PERSON_ID = re.compile(r"\bp-[0-9a-f]{12}\b")


def _digest(rows: list[tuple[Any, ...]]) -> str:
    h = hashlib.sha256()
    for row in sorted(rows, key=lambda r: tuple("" if v is None else str(v) for v in r)):
        h.update(json.dumps(row, ensure_ascii=False, default=str).encode())
    return h.hexdigest()[:16]


def digests(home: Path) -> dict[str, Any]:
    con = sqlite3.connect(f"file:{home / 'hub.sqlite3'}?mode=ro", uri=True)
    names = dict(con.execute(
        "SELECT person_id, min(source || ':' || local_id) FROM person_links GROUP BY person_id").fetchall())

    def name(person: str | None) -> str | None:
        return None if person is None else names.get(person, "?")

    def renamed(text: str | None) -> str | None:
        return None if text is None else PERSON_ID.sub(lambda m: str(names.get(m.group(0), m.group(0))), text)

    links = [(name(p), d, s, lid, m, None if pr is None else round(pr, 6)) for p, d, s, lid, m, pr in con.execute(
        "SELECT person_id, department, source, local_id, method, match_probability FROM person_links")]
    review = [(lk, rk, round(p, 6), c, st) for lk, rk, p, c, st in con.execute(
        "SELECT left_key, right_key, match_probability, comparison_json, status FROM clerical_pairs")]
    members = con.execute(
        "SELECT household_id, person_id, role, relationship FROM household_members WHERE valid_to IS NULL").fetchall()
    household_name: dict[str, str] = {}
    for household, person, _, _ in members:
        n = name(person) or ""
        household_name[household] = min(household_name.get(household, n), n)
    households = [(household_name[h], name(p), r, rel) for h, p, r, rel in members]
    run = con.execute("SELECT run_id FROM screening_runs WHERE finished_at IS NOT NULL "
                      "ORDER BY started_at DESC LIMIT 1").fetchone()
    results: list[tuple[Any, ...]] = []
    if run is not None:
        for row in con.execute(
            "SELECT person_id, tier, domains, domain_scores, hard_rules, reasons, benefit_only, known_to_support, "
            "known_by, no_mark, first_flag, trend, school_code, grade, age, stale_reasons, in_list, list_rank "
            "FROM screening_results WHERE run_id = ?", run):
            results.append((name(row[0]), *row[1:5], renamed(row[5]), *row[6:]))
    return {"links": [len(links), _digest(links)], "review": [len(review), _digest(review)],
            "households": [len(households), _digest(households)],
            "screening": [len(results), _digest(results)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("homes", nargs="+", type=Path)
    options = parser.parse_args()
    found = {str(home): digests(home) for home in options.homes}
    json.dump(found, sys.stdout, indent=1, ensure_ascii=False)
    print()
    if len({json.dumps(d, sort_keys=True) for d in found.values()}) > 1:
        sys.exit("the homes differ")


if __name__ == "__main__":
    main()
