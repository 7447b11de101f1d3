"""The learner itself, without the database: encoding, LightGBM, calibration, ECE, reasons, drift.

Needs the optional ``learn`` extra (``pip install 'tsunagu[learn]'``: lightgbm, scikit-learn,
fairlearn); the rest of tsunagu never imports it. The model is kept as LightGBM's own text
format and the calibration as two lists of numbers — no pickle is ever loaded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tsunagu.errors import InputError, UnavailableError

Vec = npt.NDArray[np.float64]
# Fixed, stated settings (not tuned on any profile): a small, regularised model on a few thousand labels.
PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 40,
    "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "verbose": -1, "num_threads": 2, "deterministic": True, "force_row_wise": True,
}
ROUNDS = 300
ECE_BINS = 10
ECE_LIMIT = 0.03
PSI_BINS = 10
PSI_ALERT = 0.25  # Siddiqi (2006) Credit Risk Scorecards: < 0.1 stable, 0.1–0.25 watch, > 0.25 shifted


class LearnUnavailable(UnavailableError, RuntimeError):
    """The optional learning libraries are not installed."""

    code = "ranking_learn_missing"


class TooFewDecisions(InputError, ValueError):
    """Not enough recorded decisions (or of only one kind) to train and validate a version."""

    code = "ranking_too_few_decisions"


def lightgbm() -> Any:
    try:
        import lightgbm as lgb
    except ImportError as error:  # the extra is optional
        raise LearnUnavailable(
            "学習による並べ替えには追加のライブラリが必要です: pip install 'tsunagu[learn]' / needs the learn extra"
        ) from error
    return lgb


@dataclass(frozen=True)
class Encoding:
    """Column order and, for text indicators, the training vocabulary (unseen text → missing)."""

    names: tuple[str, ...]
    vocab: Mapping[str, tuple[str, ...]]

    def to_json(self) -> dict[str, Any]:
        return {"names": list(self.names), "vocab": {k: list(v) for k, v in self.vocab.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Encoding:
        return cls(tuple(data["names"]), {k: tuple(v) for k, v in data["vocab"].items()})


def encoding_for(indicators: pl.DataFrame) -> Encoding:
    names = tuple(c for c in indicators.columns if c != "person_id")
    vocab = {c: tuple(sorted(str(v) for v in indicators[c].drop_nulls().unique()))
             for c in names if indicators.schema[c] == pl.Utf8}
    return Encoding(names, vocab)


def encode(indicators: pl.DataFrame, encoding: Encoding) -> Vec:
    columns = []
    for name in encoding.names:
        if name not in indicators.columns:
            raise InputError(f"指標 {name} がありません（判定ルールが学習時から変わっています）")
        col = pl.col(name)
        if name in encoding.vocab:
            col = col.replace_strict(list(encoding.vocab[name]), list(range(len(encoding.vocab[name]))),
                                     default=None, return_dtype=pl.Float64)
        columns.append(col.cast(pl.Float64).alias(name))
    return indicators.select(columns).to_numpy().astype(np.float64)


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the raw score: p = 1 / (1 + exp(-(a·raw + b))). Two numbers, fitted on the
    calibration split; chosen over isotonic regression because with a few thousand decisions the
    step function of isotonic regression overfits its split (its held-out ECE was the worse)."""

    a: float
    b: float

    def apply(self, raw: Vec) -> Vec:
        return np.asarray(1.0 / (1.0 + np.exp(-(self.a * raw + self.b))), dtype=np.float64)


def fit_calibration(raw: Vec, labels: Vec, weights: Vec) -> Calibration:
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), labels, sample_weight=weights)
    return Calibration(float(fit.coef_[0, 0]), float(fit.intercept_[0]))


def ece(prob: Vec, labels: Vec, weights: Vec, bins: int = ECE_BINS) -> float:
    """Expected calibration error, equal-width bins, weighted (the weights of the estimator)."""
    edges = np.minimum((prob * bins).astype(int), bins - 1)
    total = float(weights.sum())
    if total <= 0:
        return math.nan
    out = 0.0
    for b in range(bins):
        mask = edges == b
        w = float(weights[mask].sum())
        if w > 0:
            out += w / total * abs(float(np.average(labels[mask], weights=weights[mask]))
                                   - float(np.average(prob[mask], weights=weights[mask])))
    return out


@dataclass(frozen=True)
class Fitted:
    model_text: str
    calibration: Calibration
    split: npt.NDArray[np.int8]  # 0 train (and calibration, cross-fitted), 2 test (held out)
    test_prob: Vec
    ece: float  # on the held-out decisions as recorded (the approval gate)
    ece_weighted: float  # the same, weighted by the estimator: calibration over the whole population


CALIBRATION_FOLDS = 5


def train(x: Vec, labels: Vec, weights: Vec, *, seed: int = 1) -> Fitted:
    """80% to learn from, 20% held out (stratified on the label, seeded).

    The model is fitted on the decisions **unweighted**. Who is reviewed depends only on the inputs
    (the rules' list and the model's proposals are functions of them) and on chance (the random
    sample), so a decision is missing at random given the inputs and the chance of need given the
    inputs is estimated without bias from the reviewed children as they are. The estimator's weights
    (1/p for the random sample) are for figures about the whole population — the weighted ECE, the
    error rates by group — not for the fit: with p = 2% each sampled decision weighs 50 and a few
    hundred decisions outweigh thousands (Kish's effective sample size of a first round, 3,000 listed
    and ~350 sampled, is under 500), which made the learned ranking recall less than the rules it
    orders (docs/learned-ranking.md, issue 25).

    Calibration is cross-fitted, as scikit-learn's ``CalibratedClassifierCV(ensemble=False)``: Platt
    scaling fitted on out-of-fold scores of the 80% (five folds), the model itself on all of it — so
    no decision is set aside for calibration alone.
    """
    lgb = lightgbm()
    if labels.size < 200 or labels.sum() < 20 or (labels == 0).sum() < 20:
        raise TooFewDecisions(
            f"記録された判断が少なすぎます（{labels.size}件、うち支援の必要あり {int(labels.sum())}件）。"
            "200件以上、それぞれ20件以上が必要です / too few recorded decisions")
    rng = np.random.default_rng(seed)
    split = np.zeros(labels.size, dtype=np.int8)
    fold = np.zeros(labels.size, dtype=np.int64)
    for value in (0, 1):
        idx = rng.permutation(np.flatnonzero(labels == value))
        split[idx[int(idx.size * 0.8):]] = 2
        fold[idx] = np.arange(idx.size) % CALIBRATION_FOLDS
    learn_from, te = np.flatnonzero(split == 0), split == 2

    def fit(rows: npt.NDArray[np.int64]) -> Any:
        return lgb.train({**PARAMS, "seed": seed}, lgb.Dataset(x[rows], label=labels[rows]), num_boost_round=ROUNDS)

    out_of_fold = np.zeros(labels.size)
    for k in range(CALIBRATION_FOLDS):
        inside = fold[learn_from] == k
        out_of_fold[learn_from[inside]] = fit(learn_from[~inside]).predict(x[learn_from[inside]], raw_score=True)
    calibration = fit_calibration(out_of_fold[learn_from], labels[learn_from], np.ones(learn_from.size))
    booster = fit(learn_from)
    test_prob = calibration.apply(booster.predict(x[te], raw_score=True))
    return Fitted(booster.model_to_string(), calibration, split, test_prob, ece(test_prob, labels[te], np.ones(te.sum())),
                  ece(test_prob, labels[te], weights[te]))


def raw_scores(model_text: str, x: Vec) -> Vec:
    booster = lightgbm().Booster(model_str=model_text)
    return np.asarray(booster.predict(x, raw_score=True), dtype=np.float64)


def contributions(model_text: str, x: Vec) -> Vec:
    """SHAP values (TreeSHAP, LightGBM's pred_contrib): one column per feature, then the bias."""
    booster = lightgbm().Booster(model_str=model_text)
    return np.asarray(booster.predict(x, pred_contrib=True), dtype=np.float64)


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "記録なし"
    if isinstance(value, bool):
        return "あり" if value else "なし"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def reasons(contrib: Vec, raw: Sequence[Mapping[str, Any]], names: Sequence[str], labels: Mapping[str, str],
            top: int = 3) -> list[list[dict[str, Any]]]:
    """Per child, the indicators that raised the score most (positive SHAP values), in Japanese."""
    out = []
    for row, values in zip(contrib[:, :-1], raw, strict=True):
        order = [i for i in np.argsort(-row)[:top] if row[i] > 0]
        out.append([{"indicator": names[i], "label": labels.get(names[i], names[i]),
                     "value": _show(values.get(names[i])), "contribution": round(float(row[i]), 4),
                     "text": f"{labels.get(names[i], names[i])}（{_show(values.get(names[i]))}）が順位を上げています"}
                    for i in order])
    return out


def reference_bins(x: Vec, names: Sequence[str]) -> dict[str, dict[str, list[float]]]:
    """Per indicator, decile edges over the population and the share in each bin (missing apart)."""
    ref: dict[str, dict[str, list[float]]] = {}
    for j, name in enumerate(names):
        col = x[:, j]
        present = col[~np.isnan(col)]
        edges = np.unique(np.quantile(present, np.linspace(0, 1, PSI_BINS + 1)[1:-1])) if present.size else np.array([])
        ref[name] = {"edges": [float(e) for e in edges], "shares": _shares(col, edges)}
    return ref


def _shares(col: Vec, edges: npt.NDArray[np.float64]) -> list[float]:
    missing = np.isnan(col)
    counts = np.bincount(np.searchsorted(edges, col[~missing], side="right"), minlength=edges.size + 1)
    total = max(col.size, 1)
    return [float(c) / total for c in counts] + [float(missing.sum()) / total]


def psi(reference: Mapping[str, Mapping[str, list[float]]], x: Vec, names: Sequence[str]) -> dict[str, float]:
    """Population stability index per indicator against the training population."""
    out: dict[str, float] = {}
    for j, name in enumerate(names):
        if name not in reference:
            continue
        expected = np.asarray(reference[name]["shares"]) + 1e-4
        actual = np.asarray(_shares(x[:, j], np.asarray(reference[name]["edges"]))) + 1e-4
        out[name] = round(float(np.sum((actual - expected) * np.log(actual / expected))), 4)
    return out
