"""Writing a run's outcome into the hub: persons, their events, the link index, the review queue.

Only what changed since the last run is written: a run over an unchanged municipality touches a
handful of rows instead of rewriting hundreds of thousands of links. A link row's ``run_id`` is the
run that last set it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

import polars as pl
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tsunagu.link.identity import IdentityChanges
from tsunagu.link.models import ClericalPair, LinkDecision, Person, PersonEvent, PersonLink
from tsunagu.store.bulk import bulk_insert, bulk_update, column_rows, indexes_rebuilt, read_frame

LINK_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(), "source": pl.Utf8(), "local_id": pl.Utf8(), "person_id": pl.Utf8(), "method": pl.Utf8(),
    "match_probability": pl.Float64(),
}
# Probabilities recomputed from the same model may differ in their last bits (DuckDB sums in
# parallel); such a difference is no change to write.
_SAME_PROBABILITY = 1e-9
# Ids per DELETE: well under the bind-parameter limits of SQLite and PostgreSQL.
_DELETE_BATCH = 500
# Rows per INSERT of new persons and link-index rows.
INSERT_BATCH_ROWS = 100_000


def previous_links(session: Session) -> pl.DataFrame:
    """The link index as the last run left it, with each record's key (source:local_id)."""
    t = PersonLink.__table__
    query = select(t.c.id, t.c.source, t.c.local_id, t.c.person_id, t.c.method, t.c.match_probability)
    return read_frame(session.connection(), query, LINK_SCHEMA).with_columns(
        (pl.col("source") + ":" + pl.col("local_id")).alias("key"))


def link_rows(clustered: pl.DataFrame, links: pl.DataFrame, assignment: Mapping[str, str]) -> pl.DataFrame:
    """One row per record: its person, and how it was linked (宛名番号, a link's method, or alone)."""
    persons = pl.DataFrame({"cluster": list(assignment), "person_id": list(assignment.values())},
                           schema={"cluster": pl.Utf8, "person_id": pl.Utf8})
    linked = links.select(pl.col("key_r").alias("key"), pl.col("method").alias("link_method"), "match_probability")
    return (
        clustered.join(persons, on="cluster", how="left").join(linked, on="key", how="left")
        .with_columns(
            pl.when(pl.col("aza_number").is_not_null()).then(pl.lit("aza_number"))
            .otherwise(pl.col("link_method").fill_null("singleton")).alias("method"))
        .select("key", "person_id", "department", "source", "local_id", "method", "match_probability")
    )


def write_persons(session: Session, run_id: str, now: datetime, changes: IdentityChanges,
                  households: Mapping[str, str]) -> None:
    """New person ids (with their household), and the events of ids merged and split. A person's
    creation is their row's ``created_run``: an event for each would repeat it (hundreds of
    thousands of rows on a first run)."""
    conn = session.connection()
    known = set(read_frame(conn, select(Person.__table__.c.person_id), {"person_id": pl.Utf8()})["person_id"].to_list())
    fresh = sorted(set(changes.assignment.values()) - known)
    for start in range(0, len(fresh), INSERT_BATCH_ROWS):
        bulk_insert(conn, Person.__table__, ("person_id", "created_run", "status", "household_id"),  # type: ignore[arg-type]
                    [(pid, run_id, "active", households.get(pid)) for pid in fresh[start:start + INSERT_BATCH_ROWS]],
                    converted=True)
    for absorbed, keep in changes.merged:
        session.execute(update(Person).where(Person.person_id == absorbed).values(status="merged", merged_into=keep))
        session.add(PersonEvent(run_id=run_id, at=now, kind="merged", person_id=keep, other_person_id=absorbed,
                                cause="同一人物の記録と判定（名寄せ） / records found to be the same person"))
    for original, new in changes.split:
        session.add(PersonEvent(run_id=run_id, at=now, kind="split", person_id=new, other_person_id=original,
                                cause="別人の記録と判定（名寄せ） / records found to be different people"))
    session.flush()


def write_links(session: Session, run_id: str, rows: pl.DataFrame, previous: pl.DataFrame) -> dict[str, int]:
    """Bring the link index to ``rows`` (see ``link_rows``): delete, update and insert what differs."""
    conn = session.connection()
    table = PersonLink.__table__
    old = previous.select("id", "key", pl.col("person_id").alias("old_person"), pl.col("method").alias("old_method"),
                          pl.col("match_probability").alias("old_probability"))
    joined = rows.join(old, on="key", how="left")
    gone = previous.join(rows.select("key"), on="key", how="anti")["id"].to_list()
    same_probability = (
        (pl.col("match_probability").is_null() & pl.col("old_probability").is_null())
        | ((pl.col("match_probability") - pl.col("old_probability")).abs() <= _SAME_PROBABILITY)
    ).fill_null(False)
    changed = joined.filter(pl.col("id").is_not_null()).filter(
        (pl.col("person_id") != pl.col("old_person")) | (pl.col("method") != pl.col("old_method")) | ~same_probability)
    # In index order: the unique (source, local_id) index then grows at its end, not all over.
    new = joined.filter(pl.col("id").is_null()).sort("source", "local_id")
    for start in range(0, len(gone), _DELETE_BATCH):
        conn.execute(delete(PersonLink).where(PersonLink.id.in_(gone[start:start + _DELETE_BATCH])))
    bulk_update(conn, table, ("person_id", "method", "match_probability", "run_id"), "id",  # type: ignore[arg-type]
                column_rows(changed.with_columns(pl.lit(run_id).alias("run_id")),
                            ("person_id", "method", "match_probability", "run_id", "id")))
    inserted = ("person_id", "department", "source", "local_id", "method", "match_probability")
    with indexes_rebuilt(conn, table, new.height):  # type: ignore[arg-type]
        # A slice at a time, in order (the same rows and ids): a first run's whole link index as
        # Python tuples was the largest object of a large city's run.
        for start in range(0, new.height, INSERT_BATCH_ROWS):
            bulk_insert(conn, table, (*inserted, "run_id"),  # type: ignore[arg-type]
                        column_rows(new.slice(start, INSERT_BATCH_ROWS), inserted, (run_id,)), converted=True)
    return {"deleted": len(gone), "updated": changed.height, "inserted": new.height}


def write_review(session: Session, run_id: str, review: pl.DataFrame) -> None:
    """Open the run's uncertain pairs for review; earlier open pairs it did not find become obsolete."""
    session.execute(update(ClericalPair).where(ClericalPair.status == "open").values(status="obsolete"))
    decided = {(left, right) for left, right in session.execute(select(LinkDecision.left_key, LinkDecision.right_key)).all()}
    existing = {(p.left_key, p.right_key): p for p in session.scalars(select(ClericalPair))}
    gamma = [c for c in review.columns if c.startswith("gamma_")]
    for row in review.iter_rows(named=True):
        pair = (row["key_l"], row["key_r"])
        if pair in decided:
            continue
        levels = json.dumps({c.removeprefix("gamma_"): row[c] for c in gamma}, ensure_ascii=False)
        if pair in existing:
            existing[pair].status, existing[pair].run_id = "open", run_id
            existing[pair].match_probability, existing[pair].comparison_json = float(row["match_probability"]), levels
        else:
            session.add(ClericalPair(run_id=run_id, left_key=pair[0], right_key=pair[1], status="open",
                                     match_probability=float(row["match_probability"]), comparison_json=levels))
