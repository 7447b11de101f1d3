"""Households over time, from the resident register: child ↔ guardians ↔ siblings.

Membership rows are opened and closed, never rewritten, so the household a child lived in at an
earlier screening can still be shown.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.models import HouseholdMember, Person
from tsunagu.link.records import GUARDIAN_RELATIONSHIPS, LinkInputs
from tsunagu.store.bulk import bulk_insert, bulk_update

ADULT_AGE = 18


def _role(birth: date | None, relationship: str | None, today: date) -> str:
    if birth is not None and (today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))) < ADULT_AGE:
        return "child"
    return "guardian" if relationship in GUARDIAN_RELATIONSHIPS else "other"


def write_households(session: Session, inputs: LinkInputs, clustered: pl.DataFrame, assignment: dict[str, str],
                     run_id: str) -> int:
    """Bring household membership up to date with the register; returns the number of changes."""
    now = datetime.now(UTC)
    today = now.date()
    spine = inputs.spine.filter(pl.col("household_number").is_not_null())
    cluster_of = dict(clustered.filter(pl.col("source") == "juki_jumin").select("aza_number", "cluster").iter_rows())
    wanted: dict[tuple[str, str], tuple[str, str | None]] = {}
    for aza, household, birth, relationship in spine.select(
        "aza_number", "household_number", "birth_date", "relationship"
    ).iter_rows():
        cluster = cluster_of.get(aza)
        if cluster is None:
            continue
        person_id = assignment[cluster]
        wanted[(f"H:{household}", person_id)] = (_role(birth, relationship, today), relationship)
    current = {(m.household_id, m.person_id): m for m in session.scalars(
        select(HouseholdMember).where(HouseholdMember.valid_to.is_(None)))}
    closed: list[tuple[object, int]] = []
    for key, member in current.items():
        if key not in wanted or wanted[key][0] != member.role:
            closed.append((now, member.id))
    opened = [
        (household_id, person_id, role, relationship, now, None)
        for (household_id, person_id), (role, relationship) in wanted.items()
        if (household_id, person_id) not in current or current[(household_id, person_id)].role != role
    ]
    conn = session.connection()
    bulk_update(conn, HouseholdMember.__table__, ("valid_to",), "id", closed)  # type: ignore[arg-type]
    bulk_insert(conn, HouseholdMember.__table__,  # type: ignore[arg-type]
                ("household_id", "person_id", "role", "relationship", "valid_from", "valid_to"), opened)
    bulk_update(conn, Person.__table__, ("household_id",), "person_id",  # type: ignore[arg-type]
                [(household_id, person_id) for household_id, person_id in wanted])
    session.expire_all()
    return len(closed) + len(opened)
