"""The stored rows built column by column are the rows the per-child loop built (its code kept here
as the oracle): the same JSON text, to the byte, for every list, score and reason."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from support.hubs import hub_of
from tsunagu.screen import evaluate
from tsunagu.screen.reasons import REASON_DTYPE
from tsunagu.screen.runs.inputs import gather
from tsunagu.screen.runs.rows import COLUMNS, listed_rows, result_rows

AS_OF = date(2026, 10, 31)
_RANK = {"重点支援": 4, "予防的支援": 3, "見守り": 2, "対象外": 1}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _trend(tier: str, before: str | None) -> str:
    if before is None:
        return "new"
    now, then = _RANK[tier], _RANK[before]
    return "worse" if now > then else "better" if now < then else "same"


def _oracle(results: pl.DataFrame, people: pl.DataFrame, as_of: date, previous: dict[str, str], ever: set[str],
            run_id: str) -> list[dict[str, Any]]:
    """screen/runs/run.py:_rows before the rows were built by polars (commit bf19945)."""
    frame = results.join(people.select("person_id", "birth_date", "school_code", "grade"), on="person_id", how="left")
    rows = []
    for r in frame.iter_rows(named=True):
        listed = bool(r["in_list"])
        reasons = r["reasons"] or []
        rows.append({
            "run_id": run_id, "person_id": r["person_id"], "tier": r["tier"], "domains": _json(r["domains"] or []),
            "domain_scores": _json(r["domain_scores"]), "hard_rules": _json(r["hard_rules"] or []),
            "reasons": _json(reasons), "benefit_only": bool(r["benefit_only"]),
            "known_to_support": bool(r["known_to_support"]), "known_by": _json(r["known_by"] or []),
            "no_mark": listed and not r["known_to_support"], "first_flag": listed and r["person_id"] not in ever,
            "trend": _trend(r["tier"], previous.get(r["person_id"])), "school_code": r["school_code"],
            "grade": r["grade"], "age": round((as_of - r["birth_date"]).days / 365.25, 2) if r["birth_date"] else None,
            "stale_reasons": sum(1 for x in reasons if x.get("stale")),
            "in_list": listed, "list_rank": r["list_rank"],
        })
    return rows


def _compare(results: pl.DataFrame, people: pl.DataFrame, previous: dict[str, str], ever: set[str]) -> None:
    base = result_rows(results.drop("in_list", "list_rank"), people, AS_OF,
                       pl.DataFrame({"person_id": list(previous), "tier": list(previous.values())},
                                    schema={"person_id": pl.String, "tier": pl.String}), "run-1")
    # the list as listsize.fill gives it: a row per child, in_list never missing
    listing = results.select("person_id", pl.col("in_list").fill_null(False), "list_rank").sample(fraction=1.0,
                                                                                                   shuffle=True, seed=3)
    built = listed_rows(base, listing, pl.DataFrame({"person_id": sorted(ever)}, schema={"person_id": pl.String}))
    assert built.columns == list(COLUMNS)
    expected = _oracle(results, people, AS_OF, previous, ever, "run-1")
    assert built.height == len(expected)
    for got, want in zip(built.iter_rows(named=True), expected, strict=True):
        assert got == want


def test_the_town_s_rows_are_the_loop_s_rows(linked_town: Path) -> None:
    with hub_of(linked_town) as hub, hub.sessions() as session:
        rule_set = hub.rule_set()
        inputs = gather(session, hub.nodes(), hub.manifests, hub.catalog, rule_set.item_ids, AS_OF, "test")
    result = evaluate(rule_set, AS_OF, inputs.people, inputs.observations)
    ids = result.results["person_id"].to_list()
    tiers = result.results["tier"].to_list()
    assert any(result.results["reasons"].list.len() > 0), "some child must have reasons"
    # an earlier run that saw every third child, one tier lower or higher; every fifth listed before
    previous = {p: ("重点支援" if t == "対象外" else "対象外") for p, t in zip(ids[::3], tiers[::3], strict=True)}
    _compare(result.results, inputs.people, previous, set(ids[::5]))


def _reason(value: str | None, stale: bool | None, score: int | None, day: date | None) -> dict[str, Any]:
    return {"rule": "r\"1", "label": "欠席が多い\\（\n）", "item_id": None, "value": value, "department": "学校",
            "observed_on": day, "stale": stale, "score": score}


def test_awkward_texts_and_missing_values_are_written_as_json_dumps_writes_them() -> None:
    reasons = [[_reason('say "hi"\t\u2028', True, 3, date(2026, 1, 2)), _reason(None, None, None, None)],
               [], None, [_reason("", False, -1, date(999, 12, 31))]]
    results = pl.DataFrame({
        "person_id": ["a", "b", "c", "d"], "tier": ["重点支援", "対象外", "見守り", "予防的支援"],
        "domains": [["safety", "x\"y"], [], None, ["学び"]],
        "domain_scores": [{"safety": 3, "学び": 0}, {"safety": 0, "学び": 0}, None, {"safety": -2, "学び": 11}],
        "hard_rules": [["h1"], [], None, []], "reasons": reasons,
        "benefit_only": [True, None, False, False], "known_to_support": [None, True, False, True],
        "known_by": [[], ["k1", "k2"], None, ["k\\"]], "in_list": [True, False, None, True],
        "list_rank": [1, None, 3, 2],
    }, schema_overrides={"reasons": pl.List(REASON_DTYPE), "domains": pl.List(pl.String),
                         "hard_rules": pl.List(pl.String), "known_by": pl.List(pl.String),
                         "domain_scores": pl.Struct({"safety": pl.Int64, "学び": pl.Int64})})
    people = pl.DataFrame({"person_id": ["d", "a", "b", "c"],
                           "birth_date": [date(2010, 2, 28), date(2016, 4, 1), None, date(2026, 10, 31)],
                           "school_code": ["C1", None, "B2", None], "grade": [8, None, 2, None]})
    _compare(results, people, {"a": "見守り", "d": "重点支援", "x": "対象外"}, {"d"})
