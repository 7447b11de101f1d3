"""Names and addresses for lists and letters, asked of the resident register's node for purpose ``outreach``.

A letter goes to the household's parent: the head of household when an adult, else the first adult
member. The node releases identity for this purpose (its manifest says so) and logs each request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.models import HouseholdMember, PersonLink
from tsunagu.privacy import Subject
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest

REGISTRY = "resident_registry"
SPINE = "juki_jumin"
PURPOSE = "outreach"
FIELDS = ("full_name", "address", "postal_code", "birth_date")


@dataclass(frozen=True)
class Identity:
    name: str
    address: str
    postal_code: str
    birth_date: date | None


def guardians(session: Session, households: Iterable[str]) -> dict[str, str]:
    """household -> the adult a letter is addressed to."""
    wanted = list(households)
    if not wanted:
        return {}
    rows = session.execute(select(HouseholdMember.household_id, HouseholdMember.person_id, HouseholdMember.role,
                                  HouseholdMember.relationship)
                           .where(HouseholdMember.valid_to.is_(None), HouseholdMember.household_id.in_(wanted))
                           .order_by(HouseholdMember.household_id, HouseholdMember.person_id)).all()
    chosen: dict[str, tuple[int, str]] = {}
    for household, person, role, relationship in rows:
        if role == "child":
            continue
        rank = 0 if relationship == "世帯主" else 1 if role == "guardian" else 2
        if household not in chosen or rank < chosen[household][0]:
            chosen[household] = (rank, person)
    return {h: p for h, (_, p) in chosen.items()}


def _local_ids(session: Session, persons: set[str]) -> dict[str, str]:
    if not persons:
        return {}
    rows = session.execute(select(PersonLink.local_id, PersonLink.person_id)
                           .where(PersonLink.source == SPINE, PersonLink.person_id.in_(sorted(persons)))).all()
    return {local: person for local, person in rows}


def identities(session: Session, nodes: Mapping[str, Node], subject: Subject, persons: Iterable[str], *,
               households: Iterable[str] = ()) -> dict[str, Identity]:
    """person -> identity, and ``guardian:<household>`` -> the addressee's identity."""
    addressee = guardians(session, households)
    wanted = set(persons) | set(addressee.values())
    node = nodes.get(REGISTRY)
    local = _local_ids(session, wanted)
    if node is None or not local:
        return {}
    request = NodeRequest(requester=subject.user_id, role=subject.role, purpose=PURPOSE, fields=FIELDS)
    found: dict[str, Identity] = {}
    keys = sorted(local)
    for start in range(0, len(keys), 900):  # bounded IN lists for the node's query
        try:
            answer = node.identifiers(request, local_ids=[(SPINE, k) for k in keys[start:start + 900]])
        except NodeRefusedError:
            return {}
        frame: pl.DataFrame = answer.data
        for row in frame.iter_rows(named=True):
            person = local.get(str(row["local_id"]))
            if person is None:
                continue
            birth = row.get("birth_date")
            found[person] = Identity(str(row.get("full_name") or ""), str(row.get("address") or ""),
                                     str(row.get("postal_code") or ""), birth if isinstance(birth, date) else None)
    for household, person in addressee.items():
        if person in found:
            found[f"guardian:{household}"] = found[person]
    return found
