"""u from the records: the first equality level exactly from value frequencies, the other levels from
random pairs; and m floored so that a level EM never saw matched does not veto true pairs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import polars as pl
import pytest

from tsunagu.link import model as link_model
from tsunagu.link.uprob import with_u


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def _name(levels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"output_column_name": "name", "comparison_levels": levels or [
        {"sql_condition": "(name_l IS NULL OR name_r IS NULL)", "is_null_level": True, "label_for_charts": "null"},
        {"sql_condition": "name_l = name_r", "label_for_charts": "exact"},
        {"sql_condition": "jaro_winkler_similarity(name_l, name_r) >= 0.8", "label_for_charts": "similar"},
        {"sql_condition": "ELSE", "label_for_charts": "else"},
    ]}


def _u(settings: dict[str, Any]) -> list[float | None]:
    return [level.get("u_probability") for level in settings["comparisons"][0]["comparison_levels"]]


def test_the_exact_level_is_the_share_of_agreeing_pairs_among_pairs_with_both_values(
        con: duckdb.DuckDBPyConnection) -> None:
    left = pl.DataFrame({"name": ["ann", "ann", "bob", None]})
    right = pl.DataFrame({"name": ["ann", "bob", "bob", "cid"]})
    settings = with_u({"comparisons": [_name()]}, left, right, con, seed=1, pairs=2_000)
    null, exact, similar, other = _u(settings)
    # 3 × 4 pairs with both names; agreeing: ann 2 × 1, bob 1 × 2
    assert null is None
    assert exact == pytest.approx(4 / 12)
    # the other levels share the remaining 2/3 between them, as the random pairs show
    assert similar is not None and other is not None
    assert similar + other == pytest.approx(2 / 3, rel=1e-3)
    assert other > similar > 0  # "ann"/"bob"/"cid" are not similar; only the null level never counts


def test_a_level_no_random_pair_shows_gets_a_small_u_not_zero(con: duckdb.DuckDBPyConnection) -> None:
    left = pl.DataFrame({"name": ["ann", "bob"]})
    right = pl.DataFrame({"name": ["xavier", "yolanda"]})
    settings = with_u({"comparisons": [_name()]}, left, right, con, seed=1, pairs=1_000)
    _, exact, similar, other = _u(settings)
    assert exact == pytest.approx(0.5 / 5)  # no two of the 4 pairs agree: Jeffreys' ½ / (4 + 1), not zero
    assert similar is not None and 0 < similar < 1e-3  # no random pair is similar: ½ / (1,000 + 1), scaled
    assert other == pytest.approx(1 - exact, rel=1e-3)


def test_a_null_level_over_several_columns_counts_pairs_with_any_value(con: duckdb.DuckDBPyConnection) -> None:
    levels = [
        {"sql_condition": "(kanji_l IS NULL OR kanji_r IS NULL) AND (kana_l IS NULL OR kana_r IS NULL)",
         "is_null_level": True, "label_for_charts": "null"},
        {"sql_condition": "kanji_l = kanji_r", "label_for_charts": "kanji"},
        {"sql_condition": "kana_l = kana_r", "label_for_charts": "kana"},
        {"sql_condition": "ELSE", "label_for_charts": "else"},
    ]
    left = pl.DataFrame({"kanji": ["陽翔", None], "kana": ["ハルト", "ユイ"]})
    right = pl.DataFrame({"kanji": ["陽翔", "結衣"], "kana": [None, "ユイ"]})
    settings = with_u({"comparisons": [_name(levels)]}, left, right, con, seed=1, pairs=1_000)
    # 3 of the 4 pairs have a column with values on both sides (陽翔 without kanji against ユイ
    # without kana has none: the null level); one of the 3 agrees in kanji
    assert _u(settings)[1] == pytest.approx(1 / 3)


def test_m_is_floored_where_em_saw_no_match_or_almost_none() -> None:
    trained = {"comparisons": [{"output_column_name": "birth_date", "comparison_levels": [
        {"sql_condition": "birth_date_l IS NULL OR birth_date_r IS NULL", "is_null_level": True},
        {"sql_condition": "birth_date_l = birth_date_r", "m_probability": 0.95},
        {"sql_condition": "hamming(birth_text_l, birth_text_r) = 1", "m_probability": 1e-12},
        {"sql_condition": "birth_month_l = birth_day_r"},  # not observed in training: no m saved
        {"sql_condition": "ELSE", "m_probability": 1e-5},
    ]}]}
    levels = link_model.floored(trained)["comparisons"][0]["comparison_levels"]
    assert [level.get("m_probability") for level in levels] == [None, 0.95, link_model.M_FLOOR, link_model.M_FLOOR, 1e-5]
    assert trained["comparisons"][0]["comparison_levels"][2]["m_probability"] == 1e-12  # the input is left as it was
