"""The estimate beside the hard rules: a summary of similar past decisions, never a prediction of abuse.

Two summaries of how often similar past intakes led to 一時保護, each with its uncertainty:
- the k most similar past cases (shown anonymised with their outcomes) and the share of them
  that were protected, with a Wilson interval (few neighbours → a wide interval, shown as such);
- a logistic regression over the graded items, recalibrated on the latest year before its
  cut-off (Platt), whose interval is the spread of the same model refitted on bootstrap
  resamples. The coefficients are stored as JSON: anyone can read what the model weighs (the
  UK profiling tools were dropped partly because nobody could), and no pickle is ever loaded.
And which item still 不明 would, once answered, move the estimate most.

Nothing here sets or lowers a level: ``rules.shown_level`` is the only place a level is made.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tsunagu.work.urgency.items import UNKNOWN, ItemSet, default_items

Vec = npt.NDArray[np.float64]
AGE_BANDS = ((0, 3, "0〜2歳"), (3, 6, "3〜5歳"), (6, 12, "6〜11歳"), (12, 18, "12〜17歳"))
REPORTER_KINDS = ("警察", "学校", "近隣・知人", "家族・親族", "医療機関", "保育所・幼稚園", "こども家庭センター", "児童本人",
                  "その他")
K_NEIGHBOURS = 30
Z95 = 1.959963984540054


@dataclass(frozen=True)
class CaseInput:
    """What the estimate reads of one intake (live or past): the grades, the age and who reported."""

    grades: Mapping[str, str]
    age_years: int | None
    reporter_kind: str


def age_band(age: int | None) -> str:
    if age is None:
        return "年齢不明"
    for lo, hi, label in AGE_BANDS:
        if lo <= age < hi:
            return label
    return "年齢不明"


def feature_names(items: ItemSet | None = None) -> list[str]:
    """One column per non-reference grade (the lowest known grade is the reference; 不明 is a column)."""
    items = items or default_items()
    names = [f"{it.id}={g.code}" for it in items.items for g in it.grades if g.code != it.known_grades[0].code]
    names += [f"age={label}" for _lo, _hi, label in AGE_BANDS[1:]] + ["age=年齢不明"]
    names += [f"reporter={r}" for r in REPORTER_KINDS[1:]]
    return names


def feature_label(name: str, items: ItemSet | None = None) -> str:
    """A feature's name as staff read it (「外傷の程度: 重度」), never the internal code."""
    items = items or default_items()
    key, _, value = name.partition("=")
    if key == "age":
        return f"年齢: {value}"
    if key == "reporter":
        return f"通告者: {value}"
    item = items.item(key)
    return f"{item.label}: {item.grade(value).label}"


def encode(cases: Sequence[CaseInput], names: Sequence[str]) -> Vec:
    index = {n: j for j, n in enumerate(names)}
    x = np.zeros((len(cases), len(names)), dtype=np.float64)
    for i, case in enumerate(cases):
        for item_id, code in case.grades.items():
            j = index.get(f"{item_id}={code}")
            if j is not None:
                x[i, j] = 1.0
        for key in (f"age={age_band(case.age_years)}", f"reporter={case.reporter_kind}"):
            j = index.get(key)
            if j is not None:
                x[i, j] = 1.0
    return x


def _sigmoid(z: Vec) -> Vec:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass(frozen=True)
class LogisticModel:
    """A stored model version: coefficients, Platt recalibration, bootstrap refits (JSON, no pickle)."""

    names: tuple[str, ...]
    intercept: float
    coef: Vec
    platt: tuple[float, float]
    boot_intercepts: Vec
    boot_coefs: Vec  # (B, features)
    boot_platt: Vec  # (B, 2): each refit's own recalibration, so the interval carries its uncertainty too
    items_version: str

    def _calibrated(self, raw_logit: Vec) -> Vec:
        a, b = self.platt
        return _sigmoid(a * raw_logit + b)

    def predict(self, x: Vec) -> Vec:
        return self._calibrated(x @ self.coef + self.intercept)

    def boot_predictions(self, x: Vec) -> Vec:
        """(B, n): every bootstrap refit's estimate, recalibrated by its own refit of the recalibration,
        centred (on the logit scale) on the model's own estimate: the refits give the spread, the
        model the centre, so the estimate shown always lies inside its interval."""
        raw = self.boot_coefs @ x.T + self.boot_intercepts[:, None]
        logits = self.boot_platt[:, :1] * raw + self.boot_platt[:, 1:]
        a, b = self.platt
        centre = a * (x @ self.coef + self.intercept) + b
        return _sigmoid(logits - logits.mean(axis=0, keepdims=True) + centre[None, :])

    def interval(self, x: Vec, level: float = 0.90) -> tuple[Vec, Vec]:
        boot = self.boot_predictions(x)
        tail = (1 - level) / 2 * 100
        return np.percentile(boot, tail, axis=0), np.percentile(boot, 100 - tail, axis=0)

    def to_json(self) -> dict[str, Any]:
        return {"names": list(self.names), "intercept": self.intercept, "coef": self.coef.round(6).tolist(),
                "platt": list(self.platt), "boot_intercepts": self.boot_intercepts.round(6).tolist(),
                "boot_coefs": self.boot_coefs.round(6).tolist(), "boot_platt": self.boot_platt.round(6).tolist(),
                "items_version": self.items_version}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LogisticModel:
        return cls(tuple(data["names"]), float(data["intercept"]), np.asarray(data["coef"], dtype=np.float64),
                   (float(data["platt"][0]), float(data["platt"][1])),
                   np.asarray(data["boot_intercepts"], dtype=np.float64),
                   np.asarray(data["boot_coefs"], dtype=np.float64), np.asarray(data["boot_platt"], dtype=np.float64),
                   str(data["items_version"]))

    def weights(self, top: int = 8) -> list[tuple[str, float]]:
        """The largest coefficients, for the model card (what the model weighs most)."""
        order = np.argsort(-np.abs(self.coef))[:top]
        return [(self.names[j], round(float(self.coef[j]), 3)) for j in order]


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a share (honest for small n and shares near 0 or 1)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def rank_matrix(cases: Sequence[CaseInput], items: ItemSet) -> Vec:
    """(n, items): each grade's rank scaled to 0–1, NaN for 不明 — the k-NN's coordinates."""
    out = np.full((len(cases), len(items.items)), np.nan)
    for j, item in enumerate(items.items):
        top = max(item.max_rank, 1)
        ranks = {g.code: (g.rank or 0) / top for g in item.grades if not g.unknown}
        for i, case in enumerate(cases):
            code = case.grades.get(item.id, UNKNOWN)
            if code in ranks:
                out[i, j] = ranks[code]
    return out


def distances(query: Vec, past: Vec, weights: Vec) -> Vec:
    """Weighted distance from one case to each past case: an unknown on either side counts 0.5."""
    diff = np.abs(past - query[None, :])
    diff = np.where(np.isnan(diff), 0.5, diff)
    return np.asarray((diff * weights[None, :]).sum(axis=1) / weights.sum(), dtype=np.float64)


def item_weights(items: ItemSet) -> Vec:
    # A critical item counts double in similarity: two cases differing there are not alike.
    return np.array([2.0 if it.critical else 1.0 for it in items.items])


@dataclass(frozen=True)
class Neighbours:
    indices: tuple[int, ...]
    protected: int
    share: float
    low: float
    high: float


def nearest(query: Vec, past: Vec, outcomes: npt.NDArray[np.bool_], weights: Vec, k: int = K_NEIGHBOURS) -> Neighbours:
    d = distances(query, past, weights)
    k = min(k, len(d))
    idx = np.argsort(d, kind="stable")[:k]
    hits = int(outcomes[idx].sum())
    low, high = wilson(hits, k)
    return Neighbours(tuple(int(i) for i in idx), hits, hits / k if k else 0.0, low, high)


@dataclass(frozen=True)
class Lever:
    """An item still 不明 and how far answering it could move the model's estimate."""

    item_id: str
    label: str
    expected_shift: float
    lowest: float
    highest: float


def levers(model: LogisticModel, case: CaseInput, items: ItemSet, prior: Mapping[str, Mapping[str, float]],
           top: int = 3) -> list[Lever]:
    """For each 不明 item, the estimate under each grade it could take, weighted by how often past
    cases had that grade (``prior``): the expected absolute shift ranks the items to ask first."""
    names = list(model.names)
    now = float(model.predict(encode([case], names))[0])
    found = []
    for item in items.items:
        if case.grades.get(item.id, UNKNOWN) != UNKNOWN:
            continue
        grades = item.known_grades
        variants = [CaseInput({**case.grades, item.id: g.code}, case.age_years, case.reporter_kind) for g in grades]
        estimates = model.predict(encode(variants, names))
        freq = np.array([prior.get(item.id, {}).get(g.code, 0.0) for g in grades])
        freq = freq / freq.sum() if freq.sum() > 0 else np.full(len(grades), 1 / len(grades))
        shift = float((freq * np.abs(estimates - now)).sum())
        found.append(Lever(item.id, item.label, shift, float(estimates.min()), float(estimates.max())))
    found.sort(key=lambda lv: -lv.expected_shift)
    return found[:top]


def grade_frequencies(cases: Sequence[CaseInput], items: ItemSet) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for item in items.items:
        counts: dict[str, float] = {}
        for case in cases:
            code = case.grades.get(item.id, UNKNOWN)
            if code != UNKNOWN:
                counts[code] = counts.get(code, 0.0) + 1.0
        total = sum(counts.values()) or 1.0
        out[item.id] = {code: c / total for code, c in counts.items()}
    return out
