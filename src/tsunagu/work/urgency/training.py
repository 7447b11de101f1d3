"""Fitting a version of the estimate on cases before a cut-off, and validating it on later cases.

A version is fitted only on past cases received before its cut-off date: the logistic regression
on all but the last year before it, the Platt recalibration on that last year (protection rates
drift; the latest year is what the near future looks like), the interval from bootstrap refits.
It is then validated on the cases received on or after the cut-off — held out, never seen in
fitting — and put in force only when it passes the gates of ``items.yaml`` (ECE, AUC) and the
hard rules show every held-out case with a critical item as 緊急.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from tsunagu.errors import InputError
from tsunagu.work.urgency.estimate import (
    LogisticModel,
    Vec,
    age_band,
    encode,
    feature_names,
    item_weights,
    nearest,
    rank_matrix,
)
from tsunagu.work.urgency.history import PastRow, cases_of
from tsunagu.work.urgency.items import ItemSet, default_items
from tsunagu.work.urgency.rules import HIGH, URGENT, evaluate, shown_level

BOOTSTRAP = 40
CALIBRATION_DAYS = 365
MIN_TRAIN = 500
MIN_HELD_OUT = 200
ECE_BINS = 10
GROUP_MIN = 30  # groups smaller than this are reported as too small, not as a rate


class TrainingRefused(InputError, ValueError):
    """Too few cases, or a period that leaves nothing to validate on."""

    code = "training_refused"


def _fit(x: Vec, y: npt.NDArray[np.bool_], seed: int) -> tuple[float, Vec]:
    # scikit-learn is imported where a model is fitted (1.3 s at import), not by every command.
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=2.0, max_iter=2000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y.astype(int))
    return float(model.intercept_[0]), np.asarray(model.coef_[0], dtype=np.float64)


def _platt(raw_logit: Vec, y: npt.NDArray[np.bool_]) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(raw_logit.reshape(-1, 1), y.astype(int))
    return float(model.coef_[0][0]), float(model.intercept_[0])


def fit(rows: Sequence[PastRow], cutoff: date, *, items: ItemSet | None = None, seed: int = 20,
        bootstrap: int = BOOTSTRAP) -> LogisticModel:
    items = items or default_items()
    train = [r for r in rows if r.received_on < cutoff]
    if len(train) < MIN_TRAIN:
        raise TrainingRefused(f"{cutoff} より前の事例が {len(train)} 件しかありません（{MIN_TRAIN} 件以上必要）。")
    calib_from = cutoff - timedelta(days=CALIBRATION_DAYS)
    fit_rows = [r for r in train if r.received_on < calib_from]
    calib_rows = [r for r in train if r.received_on >= calib_from]
    if len(fit_rows) < MIN_TRAIN // 2 or len(calib_rows) < MIN_HELD_OUT // 2:
        raise TrainingRefused("打ち切り日の前1年（再較正用）とそれより前（学習用）の両方に十分な事例が必要です。")
    names = feature_names(items)
    x, y = encode(cases_of(fit_rows), names), np.array([r.protected for r in fit_rows])
    intercept, coef = _fit(x, y, seed)
    xc, yc = encode(cases_of(calib_rows), names), np.array([r.protected for r in calib_rows])
    platt = _platt(xc @ coef + intercept, yc)
    shift = period_shift(fit_rows, x @ coef + intercept)
    rng = np.random.default_rng(seed)
    boot_i, boot_c, boot_p = [], [], []
    for _ in range(bootstrap):
        # both stages resampled: the recalibration on one year of cases is uncertain too
        pick = rng.integers(0, len(y), len(y))
        bi, bc = _fit(x[pick], y[pick], seed)
        cpick = rng.integers(0, len(yc), len(yc))
        boot_i.append(bi)
        boot_c.append(bc)
        a, b = _platt(xc[cpick] @ bc + bi, yc[cpick])
        # the next period's base rate differs from the last one's as much as past periods differed
        boot_p.append((a, b + rng.normal(0.0, shift)))
    return LogisticModel(tuple(names), intercept, coef, platt, np.array(boot_i), np.array(boot_c), np.array(boot_p),
                         items.version)


PERIOD_DAYS = 182


def period_shift(rows: Sequence[PastRow], raw_logit: Vec) -> float:
    """How much the share protected moved between half-years beyond what the items explain.

    Per half-year, the logit of the observed share minus the logit of the mean estimate; the spread
    of these differences less what chance alone gives (1 / (n p (1 − p)) per period) is the
    period-to-period variation — drift, shelter capacity — that a next period may carry too.
    """
    p = 1.0 / (1.0 + np.exp(-raw_logit))
    start = min(r.received_on for r in rows)
    period = np.array([(r.received_on - start).days // PERIOD_DAYS for r in rows])
    y = np.array([r.protected for r in rows], dtype=float)
    diffs, noise = [], []
    for k in np.unique(period):
        mask = period == k
        n, obs, est = int(mask.sum()), float(y[mask].mean()), float(p[mask].mean())
        if n < 100 or not 0 < obs < 1:
            continue
        diffs.append(np.log(obs / (1 - obs)) - np.log(est / (1 - est)))
        noise.append(1.0 / (n * obs * (1 - obs)))
    if len(diffs) < 3:
        return 0.0
    return float(np.sqrt(max(0.0, float(np.var(diffs, ddof=1)) - float(np.mean(noise)))))


def ece(p: Vec, y: npt.NDArray[np.bool_], bins: int = ECE_BINS) -> float:
    """Expected calibration error over equal-width bins: Σ (n_b / n) · |mean estimate − observed share|."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() / len(p) * abs(float(p[mask].mean()) - float(y[mask].mean()))
    return total


def attribute_groups(rows: Sequence[PastRow]) -> dict[str, list[int]]:
    """Held-out cases by nationality, public assistance, age band and reporter (for error rates)."""
    keys: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        for name, value in (("国籍", r.groups.get("国籍", "不明")), ("生活保護", r.groups.get("生活保護", "不明")),
                            ("年齢", age_band(r.case.age_years)), ("通告者", r.case.reporter_kind)):
            keys.setdefault(f"{name}: {value}", []).append(i)
    return keys


def _group_table(rows: Sequence[PastRow], p: Vec, y: npt.NDArray[np.bool_], threshold: float) -> list[dict[str, Any]]:
    keys = attribute_groups(rows)
    table = []
    for key in sorted(keys):
        idx = np.array(keys[key])
        yy, pp = y[idx], p[idx]
        entry: dict[str, Any] = {"group": key, "cases": len(idx)}
        if len(idx) < GROUP_MIN:
            entry["note"] = f"{GROUP_MIN}件未満のため率を示しません"
        else:
            pos, neg = yy.sum(), (~yy).sum()
            entry.update({
                "observed": round(float(yy.mean()), 4), "mean_estimate": round(float(pp.mean()), 4),
                # missed: protected cases whose estimate sat below the threshold; flagged: the reverse
                "missed_rate": round(float(((pp < threshold) & yy).sum() / pos), 4) if pos else None,
                "flagged_rate": round(float(((pp >= threshold) & ~yy).sum() / neg), 4) if neg else None,
            })
        table.append(entry)
    return table


def group_coverage(model: LogisticModel, x: Vec, y: npt.NDArray[np.bool_], groups: dict[str, npt.NDArray[np.int64]],
                   level: float = 0.90) -> list[dict[str, Any]]:
    """Does each group's interval cover its observed protection rate?

    The interval of a group's rate joins the model's own uncertainty (the bootstrap refits' mean
    estimate for the group) with the chance variation of a rate over n cases (Σ p(1−p) / n²):
    a group of 40 cases cannot be expected to land on its mean.
    """
    boot = model.boot_predictions(x)
    p = model.predict(x)
    z = 1.6448536269514722 if level == 0.90 else 1.959963984540054
    tail = (1 - level) / 2 * 100
    out = []
    for name, idx in groups.items():
        if len(idx) < GROUP_MIN:
            continue
        means = boot[:, idx].mean(axis=1)
        chance = z * float(np.sqrt((p[idx] * (1 - p[idx])).sum()) / len(idx))
        low = float(np.percentile(means, tail)) - chance
        high = float(np.percentile(means, 100 - tail)) + chance
        observed = float(y[idx].mean())
        out.append({"group": name, "cases": len(idx), "observed": round(observed, 4),
                    "low": round(max(0.0, low), 4), "high": round(min(1.0, high), 4),
                    "covered": bool(low <= observed <= high)})
    return out


def estimate_groups(p: Vec, bins: int = 10) -> dict[str, npt.NDArray[np.int64]]:
    """Held-out cases in tenths of their estimate (equal counts): with the attribute groups, the groups
    interval coverage is checked on."""
    order = np.argsort(p, kind="stable")
    return {f"推定値の第{k + 1}十分位": np.sort(chunk) for k, chunk in enumerate(np.array_split(order, bins))}


def validate(model: LogisticModel, rows: Sequence[PastRow], cutoff: date, *, items: ItemSet | None = None,
             threshold: float | None = None, knn_sample: int = 400) -> dict[str, Any]:
    """Metrics of ``model`` on the cases received on or after ``cutoff`` (held out from fitting)."""
    items = items or default_items()
    threshold = items.estimate.differs_at if threshold is None else threshold
    held = [r for r in rows if r.received_on >= cutoff]
    past = [r for r in rows if r.received_on < cutoff]
    if len(held) < MIN_HELD_OUT:
        raise TrainingRefused(f"{cutoff} 以降の検証用事例が {len(held)} 件しかありません（{MIN_HELD_OUT} 件以上必要）。")
    x = encode(cases_of(held), list(model.names))
    y = np.array([r.protected for r in held])
    p = model.predict(x)
    hard = [evaluate(r.case.grades, items) for r in held]
    critical = [h for h in hard if any(t.level == URGENT and t.kind == "item" for t in h.triggers)]
    shown_urgent = sum(shown_level(h, None) == URGENT for h in critical)
    protected_idx = [i for i, r in enumerate(held) if r.protected]
    high_or_urgent = sum(hard[i].level in (URGENT, HIGH) for i in protected_idx)
    # k-NN share on a spread sample of held-out cases (every case costs a pass over the past)
    weights, past_m = item_weights(items), rank_matrix(cases_of(past), items)
    outcomes = np.array([r.protected for r in past])
    sample = np.linspace(0, len(held) - 1, min(knn_sample, len(held))).astype(int)
    held_m = rank_matrix([held[i].case for i in sample], items)
    knn = np.array([nearest(held_m[j], past_m, outcomes, weights).share for j in range(len(sample))])
    groups = {**estimate_groups(p), **{k: np.array(v) for k, v in attribute_groups(held).items()}}
    coverage = group_coverage(model, x, y, groups)
    interval_lo, interval_hi = model.interval(x)
    from sklearn.metrics import roc_auc_score  # see _fit

    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "ece": round(ece(p, y), 4),
        "brier": round(float(np.mean((p - y) ** 2)), 4),
        "critical_recall": round(shown_urgent / len(critical), 4) if critical else 1.0,
        "critical_cases": len(critical),
        "protected_recall_urgent_or_high": round(high_or_urgent / len(protected_idx), 4) if protected_idx else None,
        "held_out_cases": len(held),
        "held_out_protected": int(y.sum()),
        "held_out_from": cutoff.isoformat(),
        "held_out_to": max(r.received_on for r in held).isoformat(),
        "knn_auc": round(float(roc_auc_score(y[sample], knn)), 4) if 0 < y[sample].sum() < len(sample) else None,
        "knn_ece": round(ece(knn, y[sample]), 4),
        "mean_interval_width": round(float(np.mean(interval_hi - interval_lo)), 4),
        "interval_coverage": round(sum(g["covered"] for g in coverage) / len(coverage), 4) if coverage else None,
        "coverage_groups": coverage,
        "groups": _group_table(held, p, y, threshold),
    }


@dataclass(frozen=True)
class Gates:
    max_ece: float
    min_auc: float
    min_coverage: float = 0.90  # an interval that does not hold is worse than none

    def failures(self, metrics: dict[str, Any]) -> list[str]:
        found = []
        if metrics["ece"] > self.max_ece:
            found.append(f"較正誤差 ECE {metrics['ece']} が上限 {self.max_ece} を超えています")
        if metrics["auc"] < self.min_auc:
            found.append(f"識別力 AUC {metrics['auc']} が下限 {self.min_auc} を下回っています")
        coverage = metrics.get("interval_coverage")
        if coverage is None or coverage < self.min_coverage:
            found.append(f"区間が検証グループの実際の割合を含んだ割合 {coverage} が下限 {self.min_coverage} を下回っています")
        if metrics["critical_recall"] < 1.0:
            found.append("重大項目のある検証事例の一部が「緊急」と表示されていません")
        return found
