"""Households over time, from the resident register: child ↔ guardians ↔ siblings.

Membership rows are opened and closed, never rewritten, so the household a child lived in at an
earlier screening can still be shown.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tsunagu.link.models import HouseholdMember, Person
from tsunagu.link.records import GUARDIAN_RELATIONSHIPS, LinkInputs

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
    changes = 0
    for key, member in current.items():
        if key not in wanted or wanted[key][0] != member.role:
            member.valid_to = now
            changes += 1
    for key, (role, relationship) in wanted.items():
        if key in current and current[key].valid_to is None:
            continue
        session.add(HouseholdMember(household_id=key[0], person_id=key[1], role=role, relationship=relationship,
                                    valid_from=now, valid_to=None))
        changes += 1
    session.flush()
    if wanted:
        session.execute(update(Person), [{"person_id": pid, "household_id": hid} for hid, pid in wanted])
    return changes
