"""The estimate's parts on hand-made cases: Wilson intervals, nearest cases, the unknown worth asking."""

from __future__ import annotations

import numpy as np
import pytest

from tsunagu.work.urgency.estimate import (
    CaseInput,
    LogisticModel,
    encode,
    feature_names,
    grade_frequencies,
    item_weights,
    levers,
    nearest,
    rank_matrix,
    wilson,
)
from tsunagu.work.urgency.items import default_items

ITEMS = default_items()


def test_wilson_is_wide_for_few_cases_and_never_leaves_zero_to_one() -> None:
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-3)
    low, high = wilson(15, 30)
    assert low == pytest.approx(0.3315, abs=1e-3) and high == pytest.approx(0.6685, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)


def test_nearest_finds_the_cases_with_the_same_grades_and_counts_their_outcomes() -> None:
    severe = CaseInput({"injury": "severe", "injury_site": "head_face"}, 1, "医療機関")
    mild = CaseInput({it.id: it.known_grades[0].code for it in ITEMS.items}, 9, "警察")
    past = [severe] * 4 + [mild] * 20
    outcomes = np.array([True, True, True, False] + [False] * 20)
    matrix = rank_matrix(past, ITEMS)
    found = nearest(rank_matrix([severe], ITEMS)[0], matrix, outcomes, item_weights(ITEMS), k=4)
    assert sorted(found.indices) == [0, 1, 2, 3]
    assert found.protected == 3 and found.share == 0.75
    assert found.low < 0.75 < found.high


def test_an_unknown_is_half_way_not_none() -> None:
    row = rank_matrix([CaseInput({"injury": "unknown"}, None, "警察")], ITEMS)[0]
    assert np.isnan(row[ITEMS.ids.index("injury")])


def _model(weight_item: str, code: str, weight: float) -> LogisticModel:
    names = feature_names(ITEMS)
    coef = np.zeros(len(names))
    coef[names.index(f"{weight_item}={code}")] = weight
    return LogisticModel(tuple(names), -2.0, coef, (1.0, 0.0), np.full(3, -2.0), np.tile(coef, (3, 1)),
                         np.tile([1.0, 0.0], (3, 1)), ITEMS.version)


def test_the_unknown_item_that_would_move_the_estimate_most_comes_first() -> None:
    model = _model("neglect", "severe", 3.0)
    case = CaseInput({"injury": "none"}, 5, "学校")
    prior = grade_frequencies([CaseInput({"neglect": c}, 5, "学校") for c in ("none", "mild", "severe")], ITEMS)
    found = levers(model, case, ITEMS, prior)
    assert found[0].item_id == "neglect"
    assert found[0].highest > found[0].lowest
    assert all(lv.item_id != "injury" for lv in found)  # answered items are not asked again


def test_encoding_marks_unknown_as_its_own_column() -> None:
    names = feature_names(ITEMS)
    x = encode([CaseInput({"injury": "unknown"}, None, "警察")], names)
    assert x[0, names.index("injury=unknown")] == 1.0
    assert x[0, names.index("age=年齢不明")] == 1.0


def test_the_estimate_always_lies_inside_its_interval() -> None:
    rng = np.random.default_rng(3)
    names = feature_names(ITEMS)
    coef = rng.normal(0, 1, len(names))
    boot = coef + rng.normal(0.5, 0.5, (6, len(names)))  # refits that all lean one way
    model = LogisticModel(tuple(names), -1.0, coef, (1.1, 0.2), rng.normal(-1, 0.3, 6), boot,
                          np.column_stack([np.full(6, 1.0), rng.normal(0, 0.2, 6)]), ITEMS.version)
    x = rng.integers(0, 2, (50, len(names))).astype(float)
    p = model.predict(x)
    low, high = model.interval(x)
    assert np.all(low <= p + 1e-12) and np.all(p <= high + 1e-12)
    assert np.all(high - low > 0)
