"""Splink predicts on row numbers (probabilistic._scoring_sides); the pairs come back with the link keys."""

from __future__ import annotations

import polars as pl

from tsunagu.link.probabilistic import (
    LEFT_DATASET,
    RIGHT_DATASET,
    SCORING_DATASETS,
    _keys_back,
    _orient,
    _scoring_sides,
)


def _sides() -> tuple[pl.DataFrame, pl.DataFrame]:
    left = pl.DataFrame({"key": ["juki_jumin:0001", "juki_jumin:0002", "juki_jumin:0003"],
                         "source_dataset": [LEFT_DATASET] * 3, "given_key": ["ゆい", "めい", "そら"]})
    right = pl.DataFrame({"key": ["hoiku:A1", "school_kiroku:B2"], "source_dataset": [RIGHT_DATASET] * 2,
                          "given_key": ["めい", "そら"]})
    return left, right


def test_scoring_sides_are_row_numbers_and_one_digit_datasets_short_enough_to_stay_inline() -> None:
    left, right = _sides()
    short_left, short_right = _scoring_sides(left, right)
    assert short_left["key"].to_list() == ["0", "1", "2"]
    assert short_right["key"].to_list() == ["0", "1"]
    assert set(short_left["source_dataset"]) == {SCORING_DATASETS[LEFT_DATASET]}
    assert set(short_right["source_dataset"]) == {SCORING_DATASETS[RIGHT_DATASET]}
    assert short_left["given_key"].to_list() == left["given_key"].to_list()  # the compared columns as they were
    # Splink's join key: source_dataset || '-__-' || key, inline in DuckDB up to 12 characters.
    assert len(SCORING_DATASETS[RIGHT_DATASET] + "-__-" + "9999999") <= 12


def test_pairs_come_back_with_link_keys_whichever_side_splink_put_first() -> None:
    left, right = _sides()
    spine, records = SCORING_DATASETS[LEFT_DATASET], SCORING_DATASETS[RIGHT_DATASET]
    predicted = pl.DataFrame({
        "source_dataset_l": [spine, records], "source_dataset_r": [records, spine],
        "key_l": ["1", "1"], "key_r": ["0", "2"], "match_probability": [0.99, 0.7],
    })
    pairs = _keys_back(_orient(predicted, spine), left, right)
    assert sorted(pairs.select("key_l", "key_r", "match_probability").rows()) == [
        ("juki_jumin:0002", "hoiku:A1", 0.99),
        ("juki_jumin:0003", "school_kiroku:B2", 0.7),
    ]
    assert set(pairs["source_dataset_l"]) == {LEFT_DATASET}
    assert set(pairs["source_dataset_r"]) == {RIGHT_DATASET}


def test_no_pairs_stay_no_pairs() -> None:
    left, right = _sides()
    empty = pl.DataFrame(schema={"source_dataset_l": pl.Utf8, "source_dataset_r": pl.Utf8, "key_l": pl.Utf8,
                                 "key_r": pl.Utf8, "match_probability": pl.Float64})
    assert _keys_back(_orient(empty, SCORING_DATASETS[LEFT_DATASET]), left, right).height == 0
