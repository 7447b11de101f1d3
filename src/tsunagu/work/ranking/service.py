"""Train, score, approve: the learned ranking's life inside the rules' governance.

- Labels are the professionals' recorded second-stage decisions (``reviews``, kind review):
  支援する・見守る = a confirmed concern, 対応不要 = none; the latest decision per child. Never the
  synthetic truth.
- Selective labels: only children the design put in front of a reviewer count — those in the list
  (``in_list``), those the model proposed, and the random review sample of unlisted children
  (``review_samples``, with its probability p). The estimator is inverse-probability weighting
  (Horvitz–Thompson): weight 1 where review was certain, 1/p for the random sample, so the weighted
  decisions stand for the whole population. Reviews outside the design are left out.
- The model never changes a tier or the list: it orders children (``rank``) and marks unlisted
  children it ranks inside the list size as proposals for 見守り, which a person confirms by recording
  a review. Until the steward approves a version its scores are shown to the steward only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import polars as pl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.privacy import AuditEvent, Subject, append
from tsunagu.screen import RuleSet
from tsunagu.screen.evaluate import compute_indicators
from tsunagu.screen.listsize import capacity
from tsunagu.screen.runs.inputs import gather
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.vault.node import Node
from tsunagu.work.errors import Invalid, NotFound
from tsunagu.work.models import Review
from tsunagu.work.ranking import fairness, learn
from tsunagu.work.ranking.card import build_card
from tsunagu.work.ranking.models import APPROVED, RETIRED, SHADOW, RankingScore, RankingVersion, ReviewSample

POSITIVE = ("support", "watch")
GROUP_ITEM = "foreign_national"  # read for the card's groups only; never a model input


@dataclass(frozen=True)
class Population:
    """Indicators (model inputs) and group columns (card only) of every child in a run."""

    indicators: pl.DataFrame
    groups: pl.DataFrame  # person_id, single_parent, foreign_national, disability_in_household, age_band


def _age_band(age: pl.Expr) -> pl.Expr:
    return (pl.when(age <= 2).then(pl.lit("0-2")).when(age <= 5).then(pl.lit("3-5")).when(age <= 11)
            .then(pl.lit("6-11")).when(age <= 14).then(pl.lit("12-14")).otherwise(pl.lit("15-17")))


def population(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, catalog: Catalog,
               rule_set: RuleSet, as_of: date, run_id: str, cache: dict[str, Population] | None = None) -> Population:
    """``cache``: populations already read, by run id (a run's inputs do not change)."""
    if cache is not None and run_id in cache:
        return cache[run_id]
    items = frozenset(rule_set.item_ids | {GROUP_ITEM}) if GROUP_ITEM in catalog.items else rule_set.item_ids
    inputs = gather(session, nodes, manifests, catalog, items, as_of, f"ranking:{run_id}")
    indicators = compute_indicators(rule_set, as_of, inputs.people, inputs.observations)
    foreign = (inputs.observations.filter(pl.col("item_id") == GROUP_ITEM).sort("observed_on")
               .group_by("person_id").agg(pl.col("value_bool").last().alias("foreign_national")))
    cols = indicators.columns
    groups = indicators.select(
        "person_id",
        (pl.col("child_rearing_allowance").fill_null(False) if "child_rearing_allowance" in cols
         else pl.lit(False)).cast(pl.Boolean).alias("single_parent"),
        (pl.col("household_disability").fill_null(False) if "household_disability" in cols
         else pl.lit(False)).cast(pl.Boolean).alias("disability_in_household"),
        _age_band(pl.col("age") if "age" in cols else pl.lit(0)).alias("age_band"),
    ).join(foreign, on="person_id", how="left").with_columns(pl.col("foreign_national").fill_null(False))
    found = Population(indicators, groups)
    if cache is not None:
        cache[run_id] = found
    return found


def labelled(session: Session) -> pl.DataFrame:
    """person_id, run_id, label (0/1), weight: the latest design-based decision per child."""
    reviews = session.execute(select(Review.person_id, Review.run_id, Review.decision, Review.id)
                              .where(Review.kind == "review", Review.decision.is_not(None), Review.run_id.is_not(None))
                              ).all()
    if not reviews:
        return pl.DataFrame(schema={"person_id": pl.Utf8, "run_id": pl.Utf8, "label": pl.Int64, "weight": pl.Float64})
    # The id follows the order of recording: the latest decision per child is its last row.
    frame = (pl.DataFrame(reviews, schema={"person_id": pl.Utf8, "run_id": pl.Utf8, "decision": pl.Utf8,
                                           "id": pl.Int64}, orient="row")
             .sort("id").group_by("person_id", maintain_order=True).last())
    runs = frame["run_id"].unique().to_list()
    keys = {"run_id": pl.Utf8, "person_id": pl.Utf8}
    listed = pl.DataFrame(session.execute(select(ScreeningResult.run_id, ScreeningResult.person_id,
                                                 ScreeningResult.in_list).where(ScreeningResult.run_id.in_(runs))).all(),
                          schema={**keys, "in_list": pl.Boolean}, orient="row")
    proposed = pl.DataFrame(session.execute(select(RankingScore.run_id, RankingScore.person_id)
                                            .where(RankingScore.run_id.in_(runs), RankingScore.proposed)).all(),
                            schema=keys, orient="row").unique().with_columns(pl.lit(True).alias("proposed"))
    sampled = pl.DataFrame(session.execute(select(ReviewSample.run_id, ReviewSample.person_id, ReviewSample.probability)
                                           .where(ReviewSample.run_id.in_(runs))).all(),
                           schema={**keys, "probability": pl.Float64}, orient="row").unique(["run_id", "person_id"])
    frame = (frame.join(listed, on=["run_id", "person_id"], how="left")
             .join(proposed, on=["run_id", "person_id"], how="left")
             .join(sampled, on=["run_id", "person_id"], how="left"))
    certain = pl.col("in_list").fill_null(False) | pl.col("proposed").fill_null(False)
    return (frame.with_columns(
        pl.when(certain).then(1.0).when(pl.col("probability") > 0).then(1.0 / pl.col("probability")).alias("weight"),
        pl.col("decision").is_in(POSITIVE).cast(pl.Int64).alias("label"))
        .filter(pl.col("weight").is_not_null()).select("person_id", "run_id", "label", "weight"))


def train_version(session: Session, subject: Subject, nodes: Mapping[str, Node], manifests: ManifestSet,
                  catalog: Catalog, rule_set: RuleSet, *, seed: int = 1, key: Ed25519PrivateKey | None = None,
                  cache: dict[str, Population] | None = None) -> RankingVersion:
    """Train a version on every design-based decision so far; it starts in shadow mode."""
    learn.lightgbm()
    cache = {} if cache is None else cache
    labels = labelled(session)
    if labels.is_empty():
        raise learn.TooFewDecisions("二次アセスメントの判断が記録されていません / no recorded decisions")
    runs = {r.run_id: r for r in session.scalars(select(ScreeningRun).where(
        ScreeningRun.run_id.in_(labels["run_id"].unique().to_list())))}
    parts, group_parts = [], []
    for run_id in sorted(runs, key=lambda r: runs[r].as_of):
        pop = population(session, nodes, manifests, catalog, rule_set, runs[run_id].as_of, run_id, cache)
        these = labels.filter(pl.col("run_id") == run_id)
        parts.append(these.join(pop.indicators, on="person_id", how="inner"))
        group_parts.append(these.select("person_id").join(pop.groups, on="person_id", how="inner"))
    data = pl.concat(parts, how="vertical_relaxed")
    groups = pl.concat(group_parts)
    latest = max(runs.values(), key=lambda r: r.as_of)
    current = population(session, nodes, manifests, catalog, rule_set, latest.as_of, latest.run_id, cache)
    encoding = learn.encoding_for(current.indicators)
    x = learn.encode(data, encoding)
    y = data["label"].to_numpy().astype(np.float64)
    w = data["weight"].to_numpy().astype(np.float64)
    fitted = learn.train(x, y, w, seed=seed)
    test = fitted.split == 2
    everyone_raw = learn.raw_scores(fitted.model_text, learn.encode(current.indicators, encoding))
    share = rule_set.settings.list_share
    cut = np.sort(everyone_raw)[-capacity(share, everyone_raw.size)]
    test_raw = learn.raw_scores(fitted.model_text, x[test])
    pred = (test_raw >= cut).astype(np.int64)
    contrib = learn.contributions(fitted.model_text, x[test])[:, :-1]
    group_cols = {g: _shown_groups(groups[g])[test] for g in fairness.GROUP_LABELS}
    labels_ja = {i: d.label for i, d in rule_set.indicators.items()}
    top_indicator = {g: _top_contrib(contrib, vals, encoding.names, labels_ja) for g, vals in group_cols.items()}
    fair = fairness.by_group(y[test].astype(np.int64), pred, w[test], group_cols, top_indicator)
    dates = [runs[r].as_of for r in runs]
    version = f"v{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:6]}"
    metrics = {
        "held_out_ece": round(fitted.ece, 4), "held_out_ece_weighted": round(fitted.ece_weighted, 4),
        "ece_limit": learn.ECE_LIMIT, "calibrated": fitted.ece <= learn.ECE_LIMIT,
        "decisions": int(y.size), "positive": int(y.sum()), "held_out": int(test.sum()),
        "random_sample_decisions": int((w > 1).sum()), "list_share": share,
        "weighted_positive_share": round(float(np.average(y, weights=w)), 4),
    }
    row = RankingVersion(
        version=version, created_at=datetime.now(UTC), created_by=subject.user_id, period_from=min(dates),
        period_to=max(dates), features_json=json.dumps(encoding.to_json(), ensure_ascii=False),
        model_text=fitted.model_text,
        calibration_json=json.dumps({"a": fitted.calibration.a, "b": fitted.calibration.b}),
        reference_json=json.dumps(learn.reference_bins(learn.encode(current.indicators, encoding), encoding.names)),
        card_json="{}", status=SHADOW,
    )
    row.card_json = json.dumps(build_card(row, metrics, fair, encoding.names, labels_ja, rule_set.hash),
                               ensure_ascii=False)
    session.add(row)
    session.flush()
    append(session, AuditEvent(actor=subject.user_id, role=subject.role, organisation=subject.organisation,
                               purpose="administration", action="ranking.train", outcome="allowed",
                               reason=f"学習による並べ替え {version} を学習（判断 {y.size}件、試行モード）"), key=key)
    return row


def _shown_groups(values: pl.Series) -> np.ndarray:
    """Group values as a person reads them on the card."""
    if values.dtype == pl.Boolean:
        return np.where(values.to_numpy(), "該当", "該当しない")
    return np.array([f"{v.replace('-', '〜')}歳" for v in values.to_list()])


def _top_contrib(contrib: np.ndarray, values: np.ndarray, names: tuple[str, ...],
                 labels: Mapping[str, str]) -> dict[str, str]:
    """Per subgroup value, the indicator with the largest mean SHAP value (for the card's causes)."""
    out: dict[str, str] = {}
    for value in np.unique(values):
        mask = values == value
        if mask.any():
            j = int(np.argmax(contrib[mask].mean(axis=0)))
            out[str(value)] = labels.get(names[j], names[j])
    return out


def get_version(session: Session, version: str | None = None) -> RankingVersion:
    """A named version, or the newest one."""
    if version is None:
        row = session.scalars(select(RankingVersion).order_by(RankingVersion.created_at.desc()).limit(1)).first()
    else:
        row = session.get(RankingVersion, version)
    if row is None:
        raise NotFound(f"並べ替えのモデル {version or ''} がありません（先に学習してください）")
    return row


@dataclass(frozen=True)
class ScoreReport:
    run_id: str
    version: str
    status: str
    scored: int
    proposed: int
    drift: dict[str, float]
    drift_alerts: list[str]


def score_run(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, catalog: Catalog,
              rule_set: RuleSet, run_id: str, version: str | None = None,
              cache: dict[str, Population] | None = None) -> ScoreReport:
    """Score every child of a run; rank within the list; propose unlisted children the model ranks inside it."""
    row = get_version(session, version)
    run = session.get(ScreeningRun, run_id)
    if run is None:
        raise NotFound(f"スクリーニング実行 {run_id} がありません")
    pop = population(session, nodes, manifests, catalog, rule_set, run.as_of, run_id, cache)
    encoding = learn.Encoding.from_json(json.loads(row.features_json))
    x = learn.encode(pop.indicators, encoding)
    raw = learn.raw_scores(row.model_text, x)
    cal = json.loads(row.calibration_json)
    prob = learn.Calibration(float(cal["a"]), float(cal["b"])).apply(raw)
    results = pl.DataFrame(session.execute(select(ScreeningResult.person_id, ScreeningResult.in_list)
                                           .where(ScreeningResult.run_id == run_id)).all(),
                           schema=["person_id", "in_list"], orient="row")
    frame = pop.indicators.select("person_id").with_columns(pl.Series("raw", raw), pl.Series("prob", prob),
                                                            pl.Series("_i", np.arange(raw.size)))
    frame = frame.join(results, on="person_id", how="inner")
    # Rank within the list first (the model orders, it does not choose the list), then the rest.
    frame = frame.sort(["in_list", "raw"], descending=[True, True]).with_row_index("rank", offset=1)
    room = capacity(rule_set.settings.list_share, frame.height)
    top = set(frame.sort("raw", descending=True).head(room)["person_id"].to_list())
    frame = frame.with_columns((~pl.col("in_list") & pl.col("person_id").is_in(list(top))).alias("proposed"))
    chosen = frame.filter(pl.col("in_list") | pl.col("proposed"))
    idx = chosen["_i"].to_numpy()
    contrib = learn.contributions(row.model_text, x[idx])
    raw_values = pop.indicators[idx.tolist()].to_dicts()
    labels_ja = {i: d.label for i, d in rule_set.indicators.items()}
    why = learn.reasons(contrib, raw_values, encoding.names, labels_ja)
    reasons = dict(zip(chosen["person_id"].to_list(), why, strict=True))
    session.execute(delete(RankingScore).where(RankingScore.run_id == run_id, RankingScore.version == row.version))
    session.execute(insert(RankingScore), [
        {"run_id": run_id, "version": row.version, "person_id": r["person_id"], "score": float(r["prob"]),
         "rank": int(r["rank"]), "proposed": bool(r["proposed"]),
         "reasons_json": json.dumps(reasons.get(r["person_id"], []), ensure_ascii=False)}
        for r in frame.iter_rows(named=True)])
    drift = learn.psi(json.loads(row.reference_json), x, encoding.names)
    alerts = [labels_ja.get(k, k) for k, v in drift.items() if v > learn.PSI_ALERT]
    return ScoreReport(run_id, row.version, row.status, frame.height, int(frame["proposed"].sum()), drift, alerts)


def approve(session: Session, subject: Subject, version: str, *, key: Ed25519PrivateKey | None = None) -> RankingVersion:
    """The steward puts a version in use; the previous approved one is retired. Recorded in the audit chain."""
    row = get_version(session, version)
    if row.status != SHADOW:
        raise Invalid(f"{version} は試行中のモデルではありません（状態: {row.status}）")
    card = json.loads(row.card_json)
    if not card.get("metrics", {}).get("calibrated"):
        raise Invalid(f"{version} は保留データで較正誤差（ECE）が基準 {learn.ECE_LIMIT} を超えるため承認できません")
    for old in session.scalars(select(RankingVersion).where(RankingVersion.status == APPROVED)):
        old.status = RETIRED
    row.status, row.approved_by, row.approved_at = APPROVED, subject.user_id, datetime.now(UTC)
    append(session, AuditEvent(actor=subject.user_id, role=subject.role, organisation=subject.organisation,
                               purpose="administration", action="ranking.approve", outcome="allowed",
                               reason=f"学習による並べ替え {version} を承認（試行から利用へ）"), key=key)
    return row


def draw_sample(session: Session, run_id: str, share: float, *, seed: int | None = None) -> list[str]:
    """無作為確認枠: draw ``share`` of the unlisted children of a run for review, each with probability ``share``."""
    if not 0 < share < 1:
        raise Invalid("無作為確認枠の割合は 0 より大きく 1 未満で指定してください")
    unlisted = sorted(session.scalars(select(ScreeningResult.person_id).where(
        ScreeningResult.run_id == run_id, ScreeningResult.in_list.is_(False))).all())
    rng = np.random.default_rng(seed)
    drawn = [p for p, u in zip(unlisted, rng.random(len(unlisted)), strict=True) if u < share]
    now = datetime.now(UTC)
    if drawn:
        session.execute(insert(ReviewSample), [{"run_id": run_id, "person_id": p, "probability": share, "drawn_at": now}
                                               for p in drawn])
    return drawn


def shown_scores(session: Session, run_id: str, *, steward: bool) -> list[dict[str, Any]]:
    """The scores people may see: an approved version's for everyone, a shadow version's for the steward only."""
    statuses = (APPROVED, SHADOW) if steward else (APPROVED,)
    rows = session.execute(select(RankingScore, RankingVersion.status).join(
        RankingVersion, RankingVersion.version == RankingScore.version).where(
        RankingScore.run_id == run_id, RankingVersion.status.in_(statuses)).order_by(RankingScore.rank)).all()
    return [{"person_id": s.person_id, "version": s.version, "status": status, "rank": s.rank, "score": s.score,
             "proposed": s.proposed, "reasons": json.loads(s.reasons_json)} for s, status in rows]
