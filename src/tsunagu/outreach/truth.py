"""Take-up gap lists against the synthetic municipality's truth (truth/programmes.csv).

Per programme, households: the truth's households with a child eligible and not receiving (or, for
a programme whose receipt no department records, eligible) against the run's listed households.
Misses are split by why: the run could not check a condition for lack of data (undetermined), the
child was not in the run (not linked to the register, moved, suspended), or the data said
otherwise. ``recall_where_data_holds`` leaves out the first two, and households whose receipt data
has a row that did not load (not listed, shown as 確認できない): the gap the data cannot see.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.models import PersonLink
from tsunagu.outreach.errors import NoOutreachRunError
from tsunagu.outreach.evaluate import RECEIVING
from tsunagu.outreach.models import OutreachResult, OutreachRun

SPINE = "juki_jumin"


def latest_run(session: Session) -> OutreachRun | None:
    return session.scalars(select(OutreachRun).where(OutreachRun.finished_at.is_not(None))
                           .order_by(OutreachRun.started_at.desc()).limit(1)).first()


def _truth(truth_dir: Path) -> pl.DataFrame:
    for name in ("programmes.csv", "persons.csv"):
        if not (truth_dir / name).is_file():
            raise FileNotFoundError(f"{truth_dir / name} がありません（tsunagu synth の truth フォルダを指定してください）")
    programmes = pl.read_csv(truth_dir / "programmes.csv", schema_overrides={"receiving": pl.Int64})
    persons = pl.read_csv(truth_dir / "persons.csv", infer_schema_length=0).select("person_id", "aza_number")
    return programmes.join(persons, on="person_id", how="left")


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluate_outreach(session: Session, truth_dir: Path, run_id: str | None = None) -> dict[str, Any]:
    run = session.get(OutreachRun, run_id) if run_id else latest_run(session)
    if run is None:
        raise NoOutreachRunError("対象要件の判定結果がありません（先に tsunagu outreach run を実行してください）")
    truth = _truth(truth_dir)
    aza = pl.DataFrame(session.execute(select(PersonLink.person_id, PersonLink.local_id)
                                       .where(PersonLink.source == SPINE)).all(),
                       schema={"hub_person": pl.Utf8, "aza_number": pl.Utf8}, orient="row").unique("hub_person")
    results = pl.DataFrame(session.execute(
        select(OutreachResult.person_id, OutreachResult.programme, OutreachResult.status, OutreachResult.receiving,
               OutreachResult.gap, OutreachResult.unchecked).where(OutreachResult.run_id == run.run_id)).all(),
        schema={"hub_person": pl.Utf8, "programme": pl.Utf8, "status": pl.Utf8, "receiving": pl.Boolean,
                "gap": pl.Boolean, "unchecked": pl.Utf8}, orient="row").join(aza, on="hub_person", how="left")
    # Receipt that could not be read (a row of the receipt data did not load): not listed, not seen.
    results = results.with_columns(pl.col("unchecked").str.contains(f'"{RECEIVING}"', literal=True)
                                   .alias("receipt_unreadable"))
    results = results.join(truth.select("aza_number", "programme", "household_id"), on=["aza_number", "programme"],
                           how="left")
    programmes = json.loads(run.programmes_json)["programmes"]
    counts = json.loads(run.counts_json)
    out: dict[str, Any] = {}
    for name, spec in programmes.items():
        has_receipt = spec.get("receiving") is not None
        mine = results.filter(pl.col("programme") == name)
        listed_rows = mine.filter(pl.col("gap")) if has_receipt else mine.filter(
            (pl.col("status") == "eligible") & pl.col("receiving").is_null())
        listed = set(listed_rows["household_id"].drop_nulls().to_list())
        unmatched = listed_rows.filter(pl.col("household_id").is_null()).height
        t = truth.filter(pl.col("programme") == name)
        if t.height == 0:
            out[name] = {"eligible": None, "not_receiving": None, "recall": None, "precision": None,
                         "listed": len(listed) + unmatched, "note": "no truth for this programme"}
            continue
        eligible = t.filter(pl.col("eligible") == 1)
        gap_rows = eligible.filter(pl.col("receiving") == 0) if has_receipt else eligible
        gap = set(gap_rows["household_id"].to_list())
        hits = listed & gap
        undetermined = set(mine.filter(pl.col("status") == "undetermined")["household_id"].drop_nulls().to_list())
        unreadable = set(mine.filter(pl.col("receipt_unreadable"))["household_id"].drop_nulls().to_list())
        seen_by_run = set(mine["household_id"].drop_nulls().to_list())
        missed = gap - listed
        unseen = {h for h in missed if h in undetermined or h in unreadable}
        out[name] = {
            "recall": _ratio(len(hits), len(gap)),
            "precision": _ratio(len(hits), len(listed) + unmatched),
            "eligible": eligible["household_id"].n_unique(),
            "not_receiving": len(gap),
            "listed": len(listed) + unmatched,
            "receipt_in_data": has_receipt,
            "missed": len(missed),
            "missed_undetermined": len(unseen),
            "missed_receipt_unreadable": len({h for h in missed if h in unreadable}),
            "receipt_unreadable_households": len(unreadable),
            "recall_where_data_holds": _ratio(len(hits), len(gap) - len(unseen)),
            "false_listed": len(listed - gap) + unmatched,
            "run_counts": counts.get(name, {}),
            "households_with_rows": len(seen_by_run),
        }
    return {"run_id": run.run_id, "as_of": run.as_of.isoformat(), "unit": "household", "programmes": out,
            "unreadable": json.loads(run.unreadable_json or "{}")}
