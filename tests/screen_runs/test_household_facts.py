"""Household facts derived for the rules: whose certificate counts for whom."""

from __future__ import annotations

from datetime import date

import polars as pl

from tsunagu.screen import OBSERVATION_SCHEMA
from tsunagu.screen.runs.inputs import _certified

AS_OF = date(2026, 10, 31)
HOUSEHOLDS = pl.DataFrame(
    [("mother", "h1", "guardian"), ("elder", "h1", "child"), ("younger", "h1", "child"),
     ("grandfather", "h2", "guardian"), ("only", "h2", "child"),
     ("lone", "h3", "child")],
    schema={"person_id": pl.Utf8, "household_id": pl.Utf8, "role": pl.Utf8}, orient="row")


def _certificates(*holders: str) -> pl.DataFrame:
    rows = [{"person_id": p, "item_id": "disability_certificate", "value_num": None, "value_text": "療育",
             "value_bool": None, "observed_on": date(2015, 1, 1), "department": "disability_welfare",
             "source_id": "shogai", "snapshot_date": AS_OF, "stale": False} for p in holders]
    return pl.DataFrame(rows, schema=OBSERVATION_SCHEMA)


def _flagged(derived: pl.DataFrame) -> set[str]:
    return set(derived.filter(pl.col("item_id") == "household_disability_certificate")["person_id"].to_list())


def test_a_siblings_certificate_is_a_household_disability_for_the_other_children_only() -> None:
    assert _flagged(_certified(_certificates("younger"), HOUSEHOLDS)) == {"elder"}


def test_a_guardians_certificate_reaches_every_child_of_the_household() -> None:
    assert _flagged(_certified(_certificates("mother", "grandfather"), HOUSEHOLDS)) == {"elder", "younger", "only"}


def test_a_childs_own_certificate_is_not_a_household_signal_for_that_child() -> None:
    assert _flagged(_certified(_certificates("lone"), HOUSEHOLDS)) == set()
