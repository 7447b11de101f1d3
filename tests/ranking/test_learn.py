"""The learner without a database: encoding, calibration error, training, reasons, drift, fairness."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

pytest.importorskip("lightgbm", reason="the optional extra 'learn' (scripts/test installs it)")
pytest.importorskip("fairlearn", reason="the optional extra 'learn' (scripts/test installs it)")

from tsunagu.work.ranking import fairness, learn


def test_text_indicators_keep_the_training_vocabulary_and_unseen_text_is_missing() -> None:
    train = pl.DataFrame({"person_id": ["a", "b"], "school_aid": ["要保護", "準要保護"], "absence": [3.0, None]})
    enc = learn.encoding_for(train)
    later = pl.DataFrame({"person_id": ["c", "d"], "school_aid": ["準要保護", "新しい区分"], "absence": [1.0, 2.0]})
    x = learn.encode(later, enc)
    assert x[0, 0] == enc.vocab["school_aid"].index("準要保護")
    assert math.isnan(x[1, 0]) and x[1, 1] == 2.0
    assert learn.Encoding.from_json(enc.to_json()) == enc


def test_ece_by_hand() -> None:
    prob = np.array([0.1, 0.1, 0.9, 0.9])
    labels = np.array([0.0, 0.0, 1.0, 0.0])
    # bin 1: predicted 0.1, observed 0 → 0.1; bin 9: predicted 0.9, observed 0.5 → 0.4; each half the weight
    assert learn.ece(prob, labels, np.ones(4)) == pytest.approx(0.25)
    # weights count: the second bin's case with label 1 weighs 3 → observed 0.75, error 0.15
    assert learn.ece(prob, labels, np.array([1.0, 1.0, 3.0, 1.0])) == pytest.approx((2 * 0.1 + 4 * 0.15) / 6)


def _toy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(2.0 * x[:, 0] - 1.5)))
    return x, (rng.random(n) < p).astype(float)


def test_training_calibrates_on_held_out_decisions_and_ranks_by_the_signal() -> None:
    # ECE has a noise floor of its own (≈ 0.03 with 1,200 held-out cases in 10 bins): 30,000 toy cases
    # leave 6,000 held out, where a calibrated model is clearly under the limit.
    x, y = _toy(30000, 1)
    fitted = learn.train(x, y, np.ones(y.size), seed=1)
    assert set(np.unique(fitted.split)) == {0, 2}  # learn from 80% (calibration cross-fitted), hold out 20%
    assert fitted.ece <= learn.ECE_LIMIT
    raw = learn.raw_scores(fitted.model_text, np.array([[2.0, 0, 0], [-2.0, 0, 0]]))
    assert raw[0] > raw[1]
    prob = fitted.calibration.apply(raw)
    assert 0 <= prob[1] < prob[0] <= 1


def test_the_estimators_weights_do_not_steer_the_fit_only_the_weighted_figures() -> None:
    # A few random-sample decisions weighing 1/p = 50 must not outweigh thousands of others in the fit
    # (that made the learned ranking recall less than the rules); they still count in the weighted ECE.
    x, y = _toy(3000, 4)
    weights = np.where(np.arange(y.size) % 10 == 0, 50.0, 1.0)
    plain, weighted = learn.train(x, y, np.ones(y.size), seed=1), learn.train(x, y, weights, seed=1)
    assert weighted.model_text == plain.model_text and weighted.calibration == plain.calibration
    assert weighted.ece == plain.ece and weighted.ece_weighted != plain.ece_weighted


def test_too_few_decisions_are_refused() -> None:
    x, y = _toy(150, 2)
    with pytest.raises(learn.TooFewDecisions):
        learn.train(x, y, np.ones(y.size))


def test_reasons_name_the_indicators_that_raised_the_score_in_japanese() -> None:
    x, y = _toy(3000, 3)
    fitted = learn.train(x, y, np.ones(y.size), seed=1)
    point = np.array([[2.5, 0.0, 0.0]])
    contrib = learn.contributions(fitted.model_text, point)
    assert contrib.shape == (1, 4)
    raw = learn.raw_scores(fitted.model_text, point)
    assert contrib.sum() == pytest.approx(raw[0], abs=1e-6)  # SHAP values add up to the raw score
    why = learn.reasons(contrib, [{"a": 2.5, "b": 0.0, "c": 0.0}], ["a", "b", "c"], {"a": "直近12か月の欠席日数"})
    assert why[0][0]["label"] == "直近12か月の欠席日数"
    assert why[0][0]["text"] == "直近12か月の欠席日数（2.5）が順位を上げています"
    assert all(r["contribution"] > 0 for r in why[0])


def test_psi_is_near_zero_for_the_same_population_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(4)
    base = rng.normal(size=(5000, 1))
    ref = learn.reference_bins(base, ["a"])
    assert learn.psi(ref, rng.normal(size=(5000, 1)), ["a"])["a"] < 0.02
    assert learn.psi(ref, rng.normal(loc=1.0, size=(5000, 1)), ["a"])["a"] > learn.PSI_ALERT
    missing = base.copy()
    missing[:2500] = np.nan  # a source stopped sending: missing values are their own bin
    assert learn.psi(ref, missing, ["a"])["a"] > learn.PSI_ALERT


def test_error_rates_by_group_and_the_disparity_flag_with_its_cause() -> None:
    # 100 decisions per group; group 該当 has 20 false positives of 80 negatives, 該当しない 8 of 80.
    y = np.array([1] * 20 + [0] * 80 + [1] * 20 + [0] * 80)
    pred = np.array([1] * 20 + [1] * 20 + [0] * 60 + [1] * 20 + [1] * 8 + [0] * 72)
    groups = np.array(["該当"] * 100 + ["該当しない"] * 100)
    out = fairness.by_group(y, pred, np.ones(200), {"single_parent": groups},
                            {"single_parent": {"該当": "児童扶養手当受給", "該当しない": "学力調査の偏差値（直近）"}})
    rates = out["by_group"]["single_parent"]["groups"]
    assert rates["該当"]["false_positive_rate"] == pytest.approx(0.25)
    assert rates["該当しない"]["false_positive_rate"] == pytest.approx(0.10)
    assert out["by_group"]["single_parent"]["ratios"]["false_positive_rate"] == pytest.approx(2.5)
    flag = out["flags"][0]
    assert flag["grouping"] == "single_parent" and flag["rate"] == "false_positive_rate"
    assert "一人親世帯" in flag["cause"] and "「該当」の順位を最も押し上げている指標は「児童扶養手当受給」" in flag["cause"]


def test_equal_error_rates_are_not_flagged_and_small_groups_are_not_compared() -> None:
    y = np.array([1, 0] * 100)
    pred = np.array([1, 0] * 100)
    pred[1] = 1  # one false positive in a group of 10 decisions: shown, not compared
    groups = np.array(["小"] * 10 + ["大"] * 95 + ["中"] * 95)
    out = fairness.by_group(y, pred, np.ones(200), {"age_band": groups})
    assert out["flags"] == []
    assert out["by_group"]["age_band"]["groups"]["小"]["false_positive_rate"] > 0
