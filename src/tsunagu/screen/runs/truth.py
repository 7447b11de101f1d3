"""Screening quality against the synthetic municipality's truth.

A run is judged by how many truly in-need children it lists — above all those no support body
knew — against how many children it lists at all, and against the best any single department
could do alone with the same list size.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.models import PersonLink
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun

NOT_LISTED = "対象外"
GROUPS = ("single_parent", "foreign_national", "disability_in_household")


def _truth(truth: Path) -> pl.DataFrame:
    for name in ("children.csv", "persons.csv"):
        if not (truth / name).is_file():
            raise FileNotFoundError(f"{truth / name} がありません（tsunagu synth の truth フォルダを指定してください）")
    children = pl.read_csv(truth / "children.csv", infer_schema_length=0)
    persons = pl.read_csv(truth / "persons.csv", infer_schema_length=0).select("person_id", "aza_number")
    return children.join(persons, on="person_id", how="left").rename({"person_id": "true_person"})


def latest_run_id(session: Session) -> str | None:
    return session.execute(select(ScreeningRun.run_id).where(ScreeningRun.finished_at.is_not(None))
                           .order_by(ScreeningRun.started_at.desc()).limit(1)).scalar()


def _results(session: Session, run_id: str) -> pl.DataFrame:
    rows = session.execute(select(ScreeningResult.person_id, ScreeningResult.tier, ScreeningResult.reasons,
                                  ScreeningResult.no_mark, ScreeningResult.in_list)
                           .where(ScreeningResult.run_id == run_id)).all()
    frame = pl.DataFrame(rows, schema={"person_id": pl.Utf8, "tier": pl.Utf8, "reasons": pl.Utf8, "no_mark": pl.Boolean,
                                       "in_list": pl.Boolean}, orient="row")
    aza = pl.DataFrame(session.execute(select(PersonLink.person_id, PersonLink.local_id)
                                       .where(PersonLink.source == "juki_jumin")).all(),
                       schema={"person_id": pl.Utf8, "aza_number": pl.Utf8}, orient="row")
    return frame.join(aza.unique(subset=["person_id"]), on="person_id", how="left")


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def _department_scores(frame: pl.DataFrame) -> pl.DataFrame:
    """Per child and department, the score the department's own items contributed."""
    rows = []
    for person, reasons in frame.select("person_id", "reasons").iter_rows():
        for reason in json.loads(reasons or "[]"):
            rows.append((person, reason.get("department") or "", int(reason.get("score") or 0)))
    scores = pl.DataFrame(rows, schema={"person_id": pl.Utf8, "department": pl.Utf8, "score": pl.Int64}, orient="row")
    return scores.group_by("person_id", "department").agg(pl.col("score").sum())


def _single_department_recall(frame: pl.DataFrame, list_size: int) -> tuple[float, str]:
    """The best recall one department could reach alone, listing as many children as the run did."""
    scores = _department_scores(frame)
    needed = frame.filter(pl.col("needs") == 1).height
    best, best_department = 0.0, ""
    for (department,), group in scores.group_by("department"):
        ranked = (frame.select("person_id", "needs").join(group, on="person_id", how="left")
                  .with_columns(pl.col("score").fill_null(0))
                  .filter(pl.col("score") > 0).sort(["score", "person_id"], descending=[True, False]).head(list_size))
        recall = _ratio(int(ranked["needs"].sum()), needed)
        if recall > best:
            best, best_department = recall, str(department)
    return best, best_department


def evaluate_screening(session: Session, truth_dir: Path, run_id: str | None = None) -> dict[str, Any]:
    run_id = run_id or latest_run_id(session)
    if run_id is None:
        raise LookupError("スクリーニングの実行結果がありません（先に tsunagu screen を実行してください）")
    truth = _truth(truth_dir)
    results = _results(session, run_id)
    frame = results.join(truth, on="aza_number", how="inner").with_columns(
        pl.col("in_list").fill_null(False).alias("listed"), pl.col("needs_support").cast(pl.Int64).alias("needs"),
        pl.col("known_to_support").cast(pl.Int64).alias("known"))
    listed = int(frame["listed"].sum())
    needed = int(frame["needs"].sum())
    hits = frame.filter(pl.col("listed") & (pl.col("needs") == 1))
    single, department = _single_department_recall(frame, listed)
    recall = _ratio(hits.height, needed)
    return {
        "run_id": run_id,
        "recall": recall,
        "precision": _ratio(hits.height, listed),
        "listed_share": _ratio(listed, frame.height),
        "no_mark_share": _ratio(int((hits["known"] == 0).sum()), hits.height),
        "single_department_recall": single,
        "best_single_department": department,
        "recall_ratio_to_single_department": recall / single if single else None,
        "children": frame.height,
        "children_not_in_truth": results.height - frame.height,
        "listed": listed,
        "in_need": needed,
        "by_tier": dict(frame.group_by("tier").len().iter_rows()),
        "by_group": _by_group(frame),
    }


def _by_group(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        if group not in frame.columns:
            continue
        for (value,), part in frame.group_by(group):
            needs, fine = part.filter(pl.col("needs") == 1), part.filter(pl.col("needs") == 0)
            out[f"{group}={value}"] = {
                "children": part.height,
                "false_negative_rate": _ratio(int((~needs["listed"]).sum()), needs.height),
                "false_positive_rate": _ratio(int(fine["listed"].sum()), fine.height),
            }
    return dict(sorted(out.items()))
