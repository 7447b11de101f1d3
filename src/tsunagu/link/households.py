"""Households over time, from the resident register: child ↔ guardians ↔ siblings.

Membership rows are opened and closed, never rewritten, so the household a child lived in at an
earlier screening can still be shown. A run writes only what changed since the last one.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.index import INSERT_BATCH_ROWS
from tsunagu.link.models import HouseholdMember, Person
from tsunagu.link.records import GUARDIAN_RELATIONSHIPS, LinkInputs
from tsunagu.store.bulk import bulk_insert, bulk_update, column_rows, driver_value, indexes_rebuilt, read_frame

ADULT_AGE = 18
MEMBERSHIP_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Utf8(), "person_id": pl.Utf8(), "role": pl.Utf8(), "relationship": pl.Utf8(),
}


def _role(birth: pl.Expr, relationship: pl.Expr, today: date) -> pl.Expr:
    """child under 18 on ``today``; else guardian by relationship to the head; else other."""
    before_birthday = (pl.lit(today.month) < birth.dt.month()) | (
        (pl.lit(today.month) == birth.dt.month()) & (pl.lit(today.day) < birth.dt.day()))
    age = pl.lit(today.year) - birth.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)
    return (pl.when(age < ADULT_AGE).then(pl.lit("child"))
            .when(relationship.is_in(GUARDIAN_RELATIONSHIPS)).then(pl.lit("guardian"))
            .otherwise(pl.lit("other")))


def household_membership(inputs: LinkInputs, clustered: pl.DataFrame, assignment: dict[str, str],
                         today: date) -> pl.DataFrame:
    """Who lives in which household now, by the register: the membership a run brings the hub to."""
    persons = pl.DataFrame({"cluster": list(assignment), "person_id": list(assignment.values())},
                           schema={"cluster": pl.Utf8, "person_id": pl.Utf8})
    registered = clustered.filter(pl.col("source") == inputs.spine_source).select("aza_number", "cluster")
    return (
        inputs.spine.filter(pl.col("household_number").is_not_null())
        .join(registered, on="aza_number", how="inner")
        .join(persons, on="cluster", how="inner")
        .select((pl.lit("H:") + pl.col("household_number")).alias("household_id"), "person_id",
                _role(pl.col("birth_date"), pl.col("relationship"), today).alias("role"), "relationship")
        .unique(subset=["household_id", "person_id"], keep="last", maintain_order=True)
    )


def household_of(membership: pl.DataFrame) -> dict[str, str]:
    """person id -> the household id the person is in now."""
    return dict(zip(membership["person_id"].to_list(), membership["household_id"].to_list(), strict=True))


def write_households(session: Session, membership: pl.DataFrame, now: datetime) -> int:
    """Bring household membership and each person's household up to date; returns the membership changes."""
    conn = session.connection()
    m = HouseholdMember.__table__
    current = read_frame(conn, select(m.c.id, m.c.household_id, m.c.person_id, m.c.role).where(m.c.valid_to.is_(None)),
                         {"id": pl.Int64(), "household_id": pl.Utf8(), "person_id": pl.Utf8(), "role": pl.Utf8()})
    same = ["household_id", "person_id", "role"]
    stamp = driver_value(conn, now)
    closed = [(stamp, member_id) for member_id in current.join(membership, on=same, how="anti")["id"].to_list()]
    opened = membership.join(current, on=same, how="anti")
    bulk_update(conn, m, ("valid_to",), "id", closed)  # type: ignore[arg-type]
    with indexes_rebuilt(conn, m, opened.height):  # type: ignore[arg-type]
        # A slice at a time, in order (the same rows and ids): a first run's whole membership as
        # Python tuples grew with the city (link.index.write_links does the same).
        for start in range(0, opened.height, INSERT_BATCH_ROWS):
            bulk_insert(conn, m,  # type: ignore[arg-type]
                        ("household_id", "person_id", "role", "relationship", "valid_from", "valid_to"),
                        column_rows(opened.slice(start, INSERT_BATCH_ROWS),
                                    ("household_id", "person_id", "role", "relationship"), (stamp, None)),
                        converted=True)
    changes = len(closed) + opened.height
    p = Person.__table__
    stored = read_frame(conn, select(p.c.person_id, p.c.household_id), {"person_id": pl.Utf8(), "household_id": pl.Utf8()})
    moved = (membership.select("person_id", "household_id").unique("person_id", keep="last")
             .join(stored, on=["person_id", "household_id"], how="anti", nulls_equal=True))
    bulk_update(conn, p, ("household_id",), "person_id", column_rows(moved, ("household_id", "person_id")))  # type: ignore[arg-type]
    session.expire_all()
    return changes
