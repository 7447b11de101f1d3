"""Linkage quality against the synthetic municipality's truth.

Headline figures are for the *automatic* links of records without 宛名番号 to the register (the
hard part): each link is a pair (record, registered person). Cluster figures over all records,
the deterministic links included, are reported beside them, never instead of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.models import ClericalPair, PersonLink

GROUPS = ("age_band", "sex", "foreign_national", "moved", "surname_changed")


def _truth_records(truth: Path) -> pl.DataFrame:
    """(key, true_person) for every record; school local ids carry the school code from the file name."""
    path = truth / "records.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} がありません（tsunagu synth の truth フォルダを指定してください）")
    frame = pl.read_csv(path, schema_overrides={"local_key": pl.Utf8, "row": pl.Int64})
    school = pl.col("file").str.extract(r"^school_([^_]+)_", 1)
    local = pl.when(pl.col("source").str.starts_with("school")).then(school + ":" + pl.col("local_key")).otherwise(pl.col("local_key"))
    return (
        frame.with_columns((pl.col("source") + ":" + local).alias("key"))
        .select("key", pl.col("person_id").alias("true_person"))
        .unique(subset=["key"], keep="first")
    )


def _safe(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 1.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _pairs(counts: pl.Series) -> int:
    return int((counts * (counts - 1) // 2).sum())


def _cluster_metrics(linked: pl.DataFrame) -> dict[str, float]:
    tp = _pairs(linked.group_by("person_id", "true_person").len()["len"])
    predicted = _pairs(linked.group_by("person_id").len()["len"])
    actual = _pairs(linked.group_by("true_person").len()["len"])
    precision, recall = _safe(tp, predicted), _safe(tp, actual)
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall),
            "predicted_pairs": predicted, "true_pairs": actual}


def evaluate_linkage(session: Session, truth: Path) -> dict[str, Any]:
    records = _truth_records(truth)
    links = pl.DataFrame(
        session.execute(select(PersonLink.source, PersonLink.local_id, PersonLink.person_id, PersonLink.method)).all(),
        schema={"source": pl.Utf8, "local_id": pl.Utf8, "person_id": pl.Utf8, "method": pl.Utf8}, orient="row",
    ).with_columns((pl.col("source") + ":" + pl.col("local_id")).alias("key"))
    linked = links.join(records, on="key", how="inner")
    coverage = _coverage(links.height, linked.height)
    problems = []
    if linked.height < links.height:
        problems.append(f"{links.height - linked.height} 件の記録が truth にありません / records missing from truth")
    # The registered person each true person has (their juki_jumin record), if any.
    spine = linked.filter(pl.col("source") == "juki_jumin").select("true_person", pl.col("person_id").alias("spine_person"))
    unkeyed = linked.filter(pl.col("method").is_in(["probabilistic", "clerical", "singleton"]))
    judged = unkeyed.join(spine, on="true_person", how="left")
    auto = judged.filter(pl.col("method") == "probabilistic")
    correct = int((auto["person_id"] == auto["spine_person"]).sum())
    true_pairs = int(judged["spine_person"].is_not_null().sum())
    review_keys = {k for (k,) in session.execute(select(ClericalPair.right_key).where(ClericalPair.status == "open")).all()}
    left_of = {r: lft for lft, r in session.execute(select(ClericalPair.left_key, ClericalPair.right_key).where(
        ClericalPair.status == "open")).all()}
    spine_true = dict(linked.filter(pl.col("source") == "juki_jumin").select("key", "true_person").iter_rows())
    resolved = sum(
        1 for key, true_person, method in judged.select("key", "true_person", "method").iter_rows()
        if method == "singleton" and key in review_keys and spine_true.get(left_of.get(key, "")) == true_person
    )
    precision = _safe(correct, auto.height)
    recall = _safe(correct, true_pairs)
    report: dict[str, Any] = {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "review_band_share": _safe(len(review_keys), links.height),
        "review_band_share_of_unkeyed": _safe(len(review_keys), unkeyed.height),
        "recall_with_review_resolved": _safe(correct + resolved, true_pairs),
        "automatic_links": auto.height,
        "correct_automatic_links": correct,
        "true_links": true_pairs,
        "records": links.height,
        "unkeyed_records": unkeyed.height,
        "cluster": _cluster_metrics(linked),
        "by_group": _by_group(judged, truth),
        "problems": problems,
        "truth_coverage": coverage,
    }
    return report


# Below this share of the linked records in the truth, precision and recall describe the truth's
# few records, not the linkage: the figures are refused rather than reported.
MIN_TRUTH_COVERAGE = 0.5


class TruthCoverageError(ValueError):
    """The truth covers too few of the linked records to measure anything."""


def _coverage(records: int, in_truth: int) -> dict[str, Any]:
    share = in_truth / records if records else 0.0
    if share < MIN_TRUTH_COVERAGE:
        raise TruthCoverageError(
            f"truth に含まれる記録は {in_truth:,} / {records:,} 件（{share:.1%}）で、測るには少なすぎます"
            f"（{MIN_TRUTH_COVERAGE:.0%} 以上が必要）。この名寄せ結果の truth を指定してください"
            f" / the truth covers {in_truth:,} of {records:,} linked records: too few to measure")
    return {"records": records, "in_truth": in_truth, "share": share}


def _by_group(judged: pl.DataFrame, truth: Path) -> dict[str, dict[str, Any]]:
    """Recall of automatic links per group of the true person: who is under-linked."""
    children_path = truth / "children.csv"
    if not children_path.is_file():
        return {}
    children = pl.read_csv(children_path, infer_schema_length=0)
    wanted = [g for g in GROUPS if g in children.columns]
    base = judged.filter(pl.col("spine_person").is_not_null()).join(
        children.select(pl.col("person_id").alias("true_person"), *wanted), on="true_person", how="inner")
    base = base.with_columns((pl.col("person_id") == pl.col("spine_person")).alias("hit"))
    out: dict[str, dict[str, Any]] = {}
    for group in wanted:
        for value, hits, total in base.group_by(group).agg(pl.col("hit").sum(), pl.len()).sort(group).iter_rows():
            out[f"{group}={value}"] = {"recall": _safe(float(hits), float(total)), "records": int(total)}
    return out
