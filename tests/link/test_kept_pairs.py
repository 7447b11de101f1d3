"""The predicted pairs kept in DuckDB are exactly those the new-surname filter keeps in polars."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from tsunagu.link.assign import new_surname
from tsunagu.link.probabilistic import _kept

ROWS = [
    # probability, birth dates, given names, family names
    (0.9, date(2015, 1, 1), date(2015, 1, 1), "ゆい", "ゆい", "たなか", "たなか"),      # above the threshold
    (0.001, date(2015, 1, 1), date(2015, 1, 1), "ゆい", "ゆい", "たなか", "さとう"),    # a new surname: kept
    (0.001, date(2015, 1, 1), date(2015, 1, 1), "ゆい", "ゆい", "たなか", "たなか"),    # same surname: dropped
    (0.001, date(2015, 1, 1), date(2015, 1, 2), "ゆい", "ゆい", "たなか", "さとう"),    # dates differ: dropped
    (0.001, date(2015, 1, 1), date(2015, 1, 1), "ゆい", "めい", "たなか", "さとう"),    # given differs: dropped
    (0.001, date(2015, 1, 1), None, "ゆい", "ゆい", "たなか", "さとう"),                 # a missing date: dropped
    (0.001, date(2015, 1, 1), date(2015, 1, 1), "ゆい", "ゆい", None, "さとう"),        # a missing surname: kept
]


def test_pairs_kept_in_duckdb_are_those_the_polars_filter_keeps() -> None:
    frame = pl.DataFrame(ROWS, schema=["match_probability", "birth_date_l", "birth_date_r", "given_key_l",
                                       "given_key_r", "family_key_l", "family_key_r"], orient="row")
    con = duckdb.connect()
    con.register("predicted", frame.to_arrow())
    con.execute("CREATE TABLE predictions AS SELECT * FROM predicted")
    kept = _kept(con, "predictions", 0.05)
    expected = frame.filter((pl.col("match_probability") >= 0.05) | new_surname(frame))
    assert kept.height == 3
    assert kept.sort("match_probability").rows() == expected.sort("match_probability").rows()


def test_without_birth_dates_only_the_threshold_keeps_pairs() -> None:
    frame = pl.DataFrame({"match_probability": [0.9, 0.01], "given_key_l": ["a", "a"], "given_key_r": ["a", "a"]})
    con = duckdb.connect()
    con.register("predicted", frame.to_arrow())
    con.execute("CREATE TABLE predictions AS SELECT * FROM predicted")
    assert _kept(con, "predictions", 0.05)["match_probability"].to_list() == [0.9]
