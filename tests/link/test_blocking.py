"""Blocking rules are counted exactly before anything is predicted, and a run over the budget stops
before it writes, leaving the hub as it was."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from support.hubs import copy_home, hub_of
from support.municipality import SmallTown
from tsunagu.link import run as link_run
from tsunagu.link.models import LinkRun, Person, PersonLink
from tsunagu.link.probabilistic import (
    BlockCount,
    BlockingTooLargeError,
    check_budget,
    count_comparisons,
    link_probabilistic,
)


def _side(births: list[str | None], schools: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({"birth_date": births, "school_code": schools}, schema={"birth_date": pl.Utf8, "school_code": pl.Utf8})


@pytest.mark.parametrize(("rule", "comparisons", "largest", "value"), [
    # a: 3 × 1, b: 1 × 2; the nulls on both sides never block together
    (("birth_date",), 5, 3, "2015-04-02"),
    # only the pairs agreeing on both columns: (a, B1) 2 × 1; (a, B2) and (b, B1) have no partner
    (("birth_date", "school_code"), 2, 2, "2015-04-02|B1"),
])
def test_comparisons_are_counted_exactly_per_rule(rule: tuple[str, ...], comparisons: int, largest: int,
                                                  value: str) -> None:
    left = _side(["2015-04-02", "2015-04-02", "2015-04-02", "2016-01-01", None],
                 ["B1", "B1", "B2", "B1", "B1"])
    right = _side(["2015-04-02", "2016-01-01", "2016-01-01", None, None], ["B1", "B2", "B2", "B1", "B1"])
    [count] = count_comparisons(left, right, (rule,))
    assert (count.comparisons, count.largest_block, count.largest_value) == (comparisons, largest, value)


def test_names_and_addresses_of_the_largest_block_are_never_shown() -> None:
    names = pl.DataFrame({"given_key": ["陽翔", "陽翔"], "address_key": ["つなぐ市中央町2-3-4"] * 2,
                          "birth_date": ["2015-04-02"] * 2})
    [by_name, by_birth] = count_comparisons(names, names, (("given_key", "address_key"), ("birth_date",)))
    assert (by_name.comparisons, by_name.largest_value) == (4, "＊|＊")
    assert by_birth.largest_value == "2015-04-02"


def test_a_rule_over_the_budget_is_refused_naming_its_largest_block() -> None:
    counts = [BlockCount("l.birth_date = r.birth_date", 1_200, 900, "1900-01-01")]
    check_budget(counts, 1_200)  # at the budget: allowed
    with pytest.raises(BlockingTooLargeError, match=r"1,200.*1,000.*'1900-01-01'.*900"):
        check_budget(counts, 1_000)


def test_a_run_over_the_budget_stops_and_leaves_the_hub_as_it_was(small_town: SmallTown, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    copy_home(small_town.home, home)
    monkeypatch.setattr(link_run, "link_probabilistic", partial(link_probabilistic, budget=1_000))
    with hub_of(home) as hub:
        with (pytest.raises(BlockingTooLargeError, match=r"比較数 [\d,]+ が上限 1,000 を超えます"),
              hub.sessions.begin() as session):
            link_run.run_linkage(session, hub.nodes(), hub.manifests)
        with hub.sessions() as session:
            stored = [session.scalar(select(func.count()).select_from(table)) for table in (Person, PersonLink, LinkRun)]
    assert stored == [0, 0, 0]
