"""Versions of the estimate: fit, validate on held-out cases, put in force only if they pass, and
the estimate for one intake from the version in force (with its k most similar past cases)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tsunagu.work.errors import Invalid, NotFound
from tsunagu.work.urgency.estimate import (
    K_NEIGHBOURS,
    CaseInput,
    LogisticModel,
    age_band,
    encode,
    feature_label,
    grade_frequencies,
    item_weights,
    levers,
    nearest,
    rank_matrix,
)
from tsunagu.work.urgency.history import PastRow, cases_of, past_rows
from tsunagu.work.urgency.items import UNKNOWN, ItemSet, default_items
from tsunagu.work.urgency.models import PastCase, UrgencyModel
from tsunagu.work.urgency.training import Gates, fit, validate

MAX_ECE = 0.03
MIN_AUC = 0.65
MIN_COVERAGE = 0.90
WORDING = ("過去の似た受理事例で一時保護に至った割合の要約です。虐待の有無や危険の予測ではありません。"
           "低い値は「安全」を意味せず、ケースを終結する根拠にはなりません。")
LIMITS = (
    "過去の判断（一時保護したか）を要約したもので、子どもに何が起きているかを予測するものではない。",
    "記録は当時の判断と保護所の空き状況を反映しており、必要だったことそのものではない。",
    "「不明」の項目が多いほど推定は当てにならない。重大項目が不明なら先に確かめる。",
    "生活保護世帯は過去の通告歴が記録されやすく（見えやすさの偏り）、通告歴の重みに影響しうる。",
    "国籍・生活保護はモデルの入力に使っていない（グループ別の誤り率の確認にだけ使う）。",
    "重大項目のある事例は推定にかかわらず必ず「緊急」と表示される（ハードルールが先）。",
)


@dataclass(frozen=True)
class TrainResult:
    version: str
    in_force: bool
    failures: list[str]
    metrics: dict[str, Any]


def default_cutoff(session: Session) -> date:
    """One year before the newest past case: the last year is held out for validation."""
    newest: date | None = session.scalar(select(func.max(PastCase.received_on)))
    if newest is None:
        raise Invalid("過去事例が取り込まれていません（tsunagu urgency history）。")
    return newest - timedelta(days=365)


def train_version(session: Session, actor: str, *, cutoff: date | None = None, items: ItemSet | None = None,
                  bootstrap: int = 40, now: datetime | None = None) -> TrainResult:
    """Fit on cases before ``cutoff``, validate on the rest, store with its card; in force if it passes."""
    items = items or default_items()
    cutoff = cutoff or default_cutoff(session)
    rows = past_rows(session)
    model = fit(rows, cutoff, items=items, bootstrap=bootstrap)
    metrics = validate(model, rows, cutoff, items=items)
    failures = Gates(MAX_ECE, MIN_AUC, MIN_COVERAGE).failures(metrics)
    now = now or datetime.now(UTC)
    version = f"v{now:%Y%m%d%H%M%S}"
    train = [r for r in rows if r.received_on < cutoff]
    card = model_card(version, model, metrics, train, cutoff, failures)
    if not failures:
        session.execute(update(UrgencyModel).values(in_force=False))
    session.add(UrgencyModel(version=version, created_at=now, created_by=actor, cutoff=cutoff, in_force=not failures,
                             model_json=json.dumps(model.to_json()), metrics_json=json.dumps(metrics, ensure_ascii=False),
                             card_json=json.dumps(card, ensure_ascii=False)))
    session.flush()
    return TrainResult(version, not failures, failures, metrics)


def model_card(version: str, model: LogisticModel, metrics: dict[str, Any], train: list[PastRow], cutoff: date,
               failures: list[str]) -> dict[str, Any]:
    return {
        "version": version,
        "what": WORDING,
        "method": "ロジスティック回帰（項目の段階ごとの係数）。打ち切り日前の1年で再較正（Platt）、"
                  "区間はブートストラップ再推定の90%範囲。類似事例はk近傍（k=30、Wilson区間95%）。",
        "data": {"training_cases": len(train), "training_from": min(r.received_on for r in train).isoformat(),
                 "training_to": (cutoff - timedelta(days=1)).isoformat(), "cutoff": cutoff.isoformat(),
                 "held_out_cases": metrics["held_out_cases"], "held_out_from": metrics["held_out_from"],
                 "held_out_to": metrics["held_out_to"], "items_version": model.items_version},
        "metrics": {k: metrics[k] for k in ("auc", "ece", "brier", "critical_recall", "critical_cases",
                                            "protected_recall_urgent_or_high", "interval_coverage", "knn_auc")},
        "weights": [(feature_label(name), w) for name, w in model.weights()],
        "groups": metrics["groups"],
        "limits": list(LIMITS),
        "gates": {"max_ece": MAX_ECE, "min_auc": MIN_AUC, "min_interval_coverage": MIN_COVERAGE,
                  "critical_recall": 1.0},
        "failures": failures,
    }


def in_force(session: Session) -> UrgencyModel | None:
    return session.scalars(select(UrgencyModel).where(UrgencyModel.in_force.is_(True))
                           .order_by(UrgencyModel.created_at.desc()).limit(1)).first()


def versions(session: Session) -> list[UrgencyModel]:
    return list(session.scalars(select(UrgencyModel).order_by(UrgencyModel.created_at.desc())))


def validate_in_force(session: Session, *, items: ItemSet | None = None) -> dict[str, Any]:
    """Re-validate the version in force on the held-out cases after its cut-off (as they are now)."""
    row = in_force(session)
    if row is None:
        raise NotFound("運用中の推定モデルがありません（tsunagu urgency train）。")
    model = LogisticModel.from_json(json.loads(row.model_json))
    metrics = validate(model, past_rows(session), row.cutoff, items=items)
    return {"version": row.version, "cutoff": row.cutoff.isoformat(), **metrics}


@dataclass
class _Past:
    key: tuple[int, int]
    rows: list[PastRow]
    matrix: Any
    outcomes: Any
    prior: dict[str, dict[str, float]]


_cache: dict[str, _Past] = {}


def _past(session: Session, items: ItemSet) -> _Past:
    """Past cases as the k-NN's matrix, kept while the table is unchanged (count and newest id)."""
    key_row = session.execute(select(func.count(PastCase.id), func.max(PastCase.id))).one()
    key = (int(key_row[0] or 0), int(key_row[1] or 0))
    cached = _cache.get(items.version)
    if cached is None or cached.key != key:
        rows = past_rows(session)
        cached = _Past(key, rows, rank_matrix(cases_of(rows), items), np.array([r.protected for r in rows], dtype=bool),
                       grade_frequencies(cases_of(rows), items))
        _cache[items.version] = cached
    return cached


def _neighbour_view(row: PastRow, items: ItemSet, n: int) -> dict[str, Any]:
    concerns = []
    for item in items.items:
        code = row.case.grades.get(item.id, UNKNOWN)
        if code != UNKNOWN and item.grade(code).rank:
            concerns.append(f"{item.label}: {item.grade(code).label}")
    return {"label": f"類似事例{n}", "year": row.received_on.year, "age": age_band(row.case.age_years),
            "reporter": row.case.reporter_kind, "concerns": concerns, "protected": row.protected,
            "outcome": row.outcome}


def estimate_for(session: Session, case: CaseInput, *, items: ItemSet | None = None) -> dict[str, Any]:
    """The estimate stored with an assessment ("{}"-like dict with ``available: False`` when none)."""
    items = items or default_items()
    row = in_force(session)
    past = _past(session, items)
    if row is None or not past.rows:
        return {"available": False, "wording": WORDING,
                "why": "運用中の推定モデルがないため、推定は表示していません。ハードルールと職員の判断で対応します。"}
    model = LogisticModel.from_json(json.loads(row.model_json))
    x = encode([case], list(model.names))
    low, high = model.interval(x)
    query = rank_matrix([case], items)[0]
    nb = nearest(query, past.matrix, past.outcomes, item_weights(items), K_NEIGHBOURS)
    return {
        "available": True, "wording": WORDING, "version": row.version,
        "model": {"share": round(float(model.predict(x)[0]), 4), "low": round(float(low[0]), 4),
                  "high": round(float(high[0]), 4)},
        "knn": {"k": len(nb.indices), "protected": nb.protected, "share": round(nb.share, 4),
                "low": round(nb.low, 4), "high": round(nb.high, 4),
                "cases": [_neighbour_view(past.rows[i], items, n) for n, i in enumerate(nb.indices[:10], 1)]},
        "levers": [{"item": lv.item_id, "label": lv.label, "shift": round(lv.expected_shift, 4),
                    "lowest": round(lv.lowest, 4), "highest": round(lv.highest, 4)}
                   for lv in levers(model, case, items, past.prior)],
    }
