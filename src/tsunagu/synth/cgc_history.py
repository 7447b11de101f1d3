"""The child guidance centre's past intakes (児童相談所の過去の受理事例), for the urgency aid.

A few thousand anonymised past intakes over six years before the export date, each with the
graded items recorded at intake, whether it led to 一時保護 and how the case went. Written
beside the exports (``OUT/cgc_history/``), not into ``exports/``: those files are ingested
wholesale into the departments' vaults and the 児相 manifest's ``jisou_*.csv`` would claim a
history file; the centre hands its past cases to the urgency aid directly
(``tsunagu urgency history``). The latent truth behind each case goes to
``OUT/truth/cgc_history_truth.csv``.

What the records carry, on purpose, because real ones do (the model must survive them):
- missingness: items not yet known at intake are 不明, more often for anonymous neighbours'
  reports, for families who do not speak Japanese, and for what an infant cannot say;
- surveillance bias: families on public assistance are more visible, so prior reports are
  recorded more often for them at the same severity;
- drift: the share of intakes that led to 一時保護 rose over the years (national figures did),
  so a model fitted on old years runs low on new ones unless it is recalibrated;
- capacity: in months when the temporary shelter was full, fewer cases were protected — the
  outcome records what was decided, not what was needed;
- police 面前DV reports: many, seldom protected.

The columns of the items are the item ids of ``tsunagu/work/urgency/items.yaml`` and their
cells the grade's rank (程度 0–3) or 不明, as a case system's export writes them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tsunagu.synth.context import rng_for

Arr = npt.NDArray[Any]
HISTORY_DIR = "cgc_history"
HISTORY_YEARS = 6
DEFAULT_CASES = 10000
REPORTERS = ("警察", "学校", "近隣・知人", "家族・親族", "医療機関", "保育所・幼稚園", "こども家庭センター", "児童本人")
REPORTER_P = (0.42, 0.13, 0.12, 0.08, 0.05, 0.05, 0.12, 0.03)
OUTCOMES = ("終結（助言）", "継続指導", "在宅支援（市町村へ送致）", "施設入所・里親委託")
HEADER = ("事例番号", "受理日", "年齢", "通告者区分", "国籍", "生活保護", "一時保護", "転帰")
# item id -> number of known ranks (the unknown value is "不明")
ITEM_RANKS = {
    "life_threat": 3, "injury": 4, "injury_site": 4, "sexual_abuse": 3, "child_wish": 3, "child_disclosure": 3,
    "neglect": 4, "guardian_urgent": 3, "guardian_attitude": 4, "prior_reports": 4, "under_three": 2,
    "sibling_harm": 3, "domestic_violence": 3, "guardian_health": 3, "child_effects": 3, "isolation": 3,
}


@dataclass(frozen=True)
class HistoryWritten:
    path: Path
    truth_path: Path
    cases: int
    protected: int


def _grade(rng: np.random.Generator, signal: Arr, ranks: int, spread: float = 0.9) -> Arr:
    """An ordinal grade from a latent signal: thresholds at 1, 2, 3 … on signal + noise."""
    value = signal + rng.normal(0.0, spread, len(signal))
    return np.clip(np.floor(value), 0, ranks - 1).astype(np.int64)


def _latent(rng: np.random.Generator, n: int) -> dict[str, Arr]:
    kind = rng.choice(4, size=n, p=[0.30, 0.22, 0.04, 0.44])  # physical, neglect, sexual, psychological
    severity = rng.gamma(1.6, 0.55, n)  # mostly mild, a long tail of grave cases
    age = np.minimum(rng.exponential(6.0, n), 17.9)
    return {"kind": kind, "severity": severity, "age": age}


def _items(rng: np.random.Generator, lat: dict[str, Arr], reporter: Arr, welfare: Arr) -> dict[str, Arr]:
    kind, sev, age = lat["kind"], lat["severity"], lat["age"]
    physical, neglect_k, sexual, psych = kind == 0, kind == 1, kind == 2, kind == 3
    g: dict[str, Arr] = {}
    g["injury"] = np.where(physical, _grade(rng, sev * 1.6, 4), _grade(rng, sev * 0.3 - 0.5, 4))
    site_signal = np.where(g["injury"] > 0, 1.0 + sev * 0.8 + (age < 3) * 0.6, -5.0)
    g["injury_site"] = np.where(g["injury"] > 0, np.maximum(_grade(rng, site_signal, 4), 1), 0)
    g["life_threat"] = _grade(rng, np.where(physical, sev * 0.9 - 0.8, -1.5), 3, 0.6)
    g["sexual_abuse"] = np.where(sexual, _grade(rng, 0.8 + sev * 0.7, 3, 0.6), _grade(rng, np.full(len(sev), -2.0), 3, 0.5))
    talks = age >= 4
    g["child_wish"] = np.where(talks, _grade(rng, sev * 0.9 - 0.6 + sexual * 0.6, 3, 0.7), 0)
    g["child_disclosure"] = np.where(talks, _grade(rng, sev * 1.1 - 0.3 + physical * 0.4, 3, 0.8), 0)
    g["neglect"] = np.where(neglect_k, _grade(rng, sev * 1.5, 4), _grade(rng, sev * 0.3 - 0.4, 4))
    g["guardian_urgent"] = _grade(rng, sev * 0.5 - 0.9, 3, 0.7)
    g["guardian_attitude"] = _grade(rng, 0.4 + sev * 0.8, 4, 1.0)
    prior_signal = 0.2 + sev * 0.6 + welfare * 0.8  # surveillance bias: the visible are recorded more
    g["prior_reports"] = _grade(rng, prior_signal, 4, 1.0)
    g["under_three"] = (age < 3).astype(np.int64)
    g["sibling_harm"] = _grade(rng, sev * 0.4 - 0.5, 3, 0.7)
    g["domestic_violence"] = np.where(psych, _grade(rng, 1.0 + sev * 0.5, 3, 0.6), _grade(rng, sev * 0.3, 3))
    g["guardian_health"] = _grade(rng, sev * 0.5 + welfare * 0.3, 3, 0.9)
    g["child_effects"] = _grade(rng, sev * 0.8 - 0.1, 3, 0.8)
    g["isolation"] = _grade(rng, sev * 0.4 + 0.3, 3, 0.9)
    return g


def _missing(rng: np.random.Generator, grades: dict[str, Arr], reporter: Arr, foreign: Arr, age: Arr) -> Arr:
    """Per item, which cells are 不明 at intake (a boolean matrix, items in ITEM_RANKS order)."""
    n = len(reporter)
    base = np.where(reporter == REPORTERS.index("近隣・知人"), 0.35, 0.12)
    base = np.where(reporter == REPORTERS.index("警察"), 0.10, base)
    base = base + foreign * 0.15  # no interpreter at the first contact
    out = np.zeros((n, len(ITEM_RANKS)), dtype=bool)
    for j, item in enumerate(ITEM_RANKS):
        p = base * (0.4 if item in ("under_three", "prior_reports") else 1.0)
        if item in ("child_wish", "child_disclosure"):
            p = np.where(age < 4, 0.0, p + 0.10)  # an infant cannot say: recorded as なし, not 不明
        out[:, j] = rng.random(n) < p
    return out


def _decide(rng: np.random.Generator, lat: dict[str, Arr], g: dict[str, Arr], year: Arr, reporter: Arr,
            month: Arr) -> tuple[Arr, Arr]:
    critical = ((g["life_threat"] == 2) | (g["injury"] == 3) | (g["sexual_abuse"] == 2) | (g["child_wish"] == 2)
                | (g["neglect"] == 3) | (g["guardian_urgent"] == 2))
    logit = (-3.1 + 1.25 * lat["severity"] + 1.6 * critical + 0.5 * (g["injury_site"] == 3) * (lat["age"] < 3)
             + 0.35 * (g["guardian_attitude"] >= 2) + 0.3 * (g["prior_reports"] == 3) + 0.08 * (year - 3))
    logit = logit - 0.8 * (reporter == REPORTERS.index("警察")) * (lat["kind"] == 3)
    full_shelter = (month % 7) == 3  # some months the shelter had no bed
    logit = logit - 0.6 * full_shelter
    protected = rng.random(len(logit)) < 1.0 / (1.0 + np.exp(-logit))
    grave = lat["severity"] + rng.normal(0, 0.4, len(logit))
    outcome = np.select([protected & (grave > 1.6), protected | (grave > 1.2), grave > 0.6], [3, 1, 2], 0)
    return protected, outcome


def write_history(seed: int, export_date: date, out: Path, *, cases: int = DEFAULT_CASES) -> HistoryWritten:
    """Write ``OUT/cgc_history/jisou_history_YYYYMMDD.csv`` and its truth (additive to ``generate``)."""
    rng = rng_for(seed, "cgc_history")
    start = export_date - timedelta(days=365 * HISTORY_YEARS)
    day = np.sort(rng.integers(0, (export_date - start).days, cases))
    year = day / 365.0
    month = day // 30
    reporter = rng.choice(len(REPORTERS), size=cases, p=REPORTER_P)
    foreign = rng.random(cases) < 0.05
    welfare = rng.random(cases) < 0.12
    lat = _latent(rng, cases)
    grades = _items(rng, lat, reporter, welfare)
    unknown = _missing(rng, grades, reporter, foreign, lat["age"])
    protected, outcome = _decide(rng, lat, grades, year, reporter, month)
    age_known = rng.random(cases) > 0.03
    folder = out / HISTORY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("jisou_history_*.csv"):  # a rerun with another export date leaves no stale file
        old.unlink()
    path = folder / f"jisou_history_{export_date:%Y%m%d}.csv"
    ids = [f"H{(start + timedelta(days=int(d))).year}-{i + 1:05d}" for i, d in enumerate(day)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow((*HEADER, *ITEM_RANKS))
        for i in range(cases):
            cells = ["不明" if unknown[i, j] else str(int(grades[item][i])) for j, item in enumerate(ITEM_RANKS)]
            writer.writerow((
                ids[i], (start + timedelta(days=int(day[i]))).isoformat(),
                str(int(lat["age"][i])) if age_known[i] else "", REPORTERS[reporter[i]],
                "外国" if foreign[i] else "日本", "有" if welfare[i] else "無", "有" if protected[i] else "無",
                OUTCOMES[outcome[i]], *cells,
            ))
    truth_dir = out / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth_path = truth_dir / "cgc_history_truth.csv"
    kinds = ("身体的虐待", "ネグレクト", "性的虐待", "心理的虐待")
    with truth_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("事例番号", "虐待種別", "重症度", "年齢", "保護所満床の月"))
        for i in range(cases):
            writer.writerow((ids[i], kinds[lat["kind"][i]], f"{lat['severity'][i]:.3f}", f"{lat['age'][i]:.2f}",
                             int(month[i] % 7 == 3)))
    return HistoryWritten(path, truth_path, cases, int(protected.sum()))
