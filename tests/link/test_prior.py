"""The prior (the share of pairs that match) from the run's own count of the prior rule's pairs: the
same number as Splink's direct estimate, which blocks on the rule again."""

from __future__ import annotations

import logging

import duckdb
import polars as pl
import pytest

from tsunagu.link.model import blocking_sql
from tsunagu.link.probabilistic import PRIOR_RECALL, PRIOR_RULES, BlockCount, count_comparisons, prior_probability

RULE = PRIOR_RULES[0]


def _side(keys: list[str], rows: list[tuple[str | None, str | None, str | None]], dataset: str) -> pl.DataFrame:
    given, family, birth = zip(*rows, strict=True)
    return pl.DataFrame({"key": keys, "given_key": given, "family_key": family, "birth_date": birth,
                         "source_dataset": [dataset] * len(keys)})


LEFT = _side(["a1", "a2", "a3", "a4"], [("ゆい", "佐藤", "2019-01-02"), ("ゆい", "佐藤", "2019-01-02"),
                                        ("はると", "鈴木", "2018-05-05"), ("そう", None, "2017-03-03")], "0_spine")
RIGHT = _side(["b1", "b2", "b3"], [("ゆい", "佐藤", "2019-01-02"), ("はると", "鈴木", "2018-05-05"),
                                   ("そう", None, "2017-03-03")], "1_records")


def test_the_prior_is_splinks_direct_estimate_from_the_rules_own_count() -> None:
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink import comparison_library as cl

    counts = count_comparisons(LEFT, RIGHT, (RULE,))
    assert [c.comparisons for c in counts] == [3]  # ゆい 2 × 1, はると 1 × 1; no family name never blocks
    ours = prior_probability((RULE, [], []), counts, LEFT.height, RIGHT.height)
    con = duckdb.connect()
    api = DuckDBAPI(connection=con)
    frames = [api.register(LEFT.to_arrow(), table_name="l"), api.register(RIGHT.to_arrow(), table_name="r")]
    linker = Linker(frames, SettingsCreator(link_type="link_only", unique_id_column_name="key",
                                            comparisons=[cl.ExactMatch("given_key")]), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match([block_on(*RULE)], recall=PRIOR_RECALL)
    theirs = linker.misc.save_model_to_json()["probability_two_random_records_match"]
    con.close()
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert ours == pytest.approx(3 / PRIOR_RECALL / 12)


def test_no_prior_without_a_rule_or_when_the_rule_pairs_more_than_its_recall_allows() -> None:
    assert prior_probability((None, [], []), [], 4, 3) is None
    every = [BlockCount(blocking_sql(RULE), 12, 12, "")]  # all 12 pairs: more than 70 % of them
    assert prior_probability((RULE, [], []), every, 4, 3) is None
