"""Whose children: the guardian ↔ child relationship, asked of the resident register on every request.

A guardian account holds only the guardian's own resident record (宛名番号). The hub's household
index (``HouseholdMember``, built from the register by linkage) names the children who lived in
that household at the last linkage run; each of them is then checked against the register *now*,
through the resident registry's node under the purpose ``guardian_self_view``:

- the guardian's record and the child's record carry the same 世帯番号;
- the guardian is the head of the household or the head's spouse (続柄 世帯主・妻・夫) and the child
  is the head's child (続柄 子): the register's 続柄 is relative to the head, so this is the one
  reading that makes the guardian a parent of the child (a grandparent living with the family is
  父・母 of the head; the head's grandchild is 孫 — neither is shown);
- the child is under 18 on the day (民法第4条: 親権 ends at majority) and has not moved out or died.

A guardian who left the household (a new 世帯番号), or a child who did, loses access at the next
request. Each check is a read of the register and recorded (``family.household.check``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.errors import ExitCode
from tsunagu.link.models import HouseholdMember, PersonLink
from tsunagu.privacy import Subject, authorise
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.errors import Refused, WorkError

PURPOSE = "guardian_self_view"
OWN_CHILD = "own_child"
PARENT_RELATIONSHIPS = ("世帯主", "妻", "夫")
CHILD_RELATIONSHIP = "子"
ADULT_AGE = 18
HOLDER = "resident_registry"
REGISTER_FIELDS = ("household_number", "full_name", "birth_date", "sex")
RELATIONSHIP_ITEM = "relationship_to_head"
GONE_ITEMS = ("move_out_date", "death_date")


class RegisterUnavailable(WorkError):
    """The register could not be asked: no child is shown rather than a guess."""

    code = "register_unavailable"
    status = 503
    exit_code = ExitCode.UNAVAILABLE


@dataclass(frozen=True)
class RegisterRow:
    local_id: str
    household: str | None
    name: str
    birth_date: date | None
    sex: str | None
    relationship: str | None
    gone: bool


@dataclass(frozen=True)
class Child:
    person_id: str
    name: str
    birth_date: date | None
    sex: str | None  # the register's M / F (the HPV vaccination's schedule depends on it)
    register_id: str  # the child's resident record (宛名番号), for the node questions


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _register(manifests: ManifestSet, nodes: Mapping[str, Node]) -> tuple[str, Node]:
    declared = manifests.register()
    node = nodes.get(declared.department) if declared is not None else None
    if declared is None or node is None:
        raise RegisterUnavailable("住民記録に接続できないため、お子さんを確かめられません。時間をおいてやり直してください。")
    return declared.source, node


def _rows(node: Node, source: str, subject: Subject, local_ids: list[str]) -> dict[str, RegisterRow]:
    """The register's current rows for these records: household, name, birth date and 続柄."""
    ask = NodeRequest(requester=subject.user_id, role=subject.role, purpose=PURPOSE, fields=REGISTER_FIELDS)
    items = NodeRequest(requester=subject.user_id, role=subject.role, purpose=PURPOSE,
                        items=(RELATIONSHIP_ITEM, *GONE_ITEMS))
    try:
        identity = node.identifiers(ask, local_ids=[(source, i) for i in local_ids])
        found: dict[str, RegisterRow] = {}
        identities = list(identity.data.iter_rows(named=True))
        # Every record's 続柄 and moves in one request (``Node.records``), not one per member.
        answer = node.records(items, source, [str(row["local_id"]) for row in identities]) if identities else None
        by_record: dict[str, dict[str, dict[str, Any]]] = {}
        for r in answer.data.iter_rows(named=True) if answer is not None else ():  # oldest first: a record's latest value of an item wins
            by_record.setdefault(str(r["local_id"]), {})[str(r["item_id"])] = r
        for identity_row in identities:
            local_id = str(identity_row["local_id"])
            values = by_record.get(local_id, {})
            relation = values[RELATIONSHIP_ITEM].get("value_text") if RELATIONSHIP_ITEM in values else None
            found[local_id] = RegisterRow(local_id, identity_row.get("household_number"),
                                          str(identity_row.get("full_name") or ""), identity_row.get("birth_date"),
                                          identity_row.get("sex"), relation, any(item in values for item in GONE_ITEMS))
    except NodeRefusedError as exc:
        raise RegisterUnavailable(f"住民記録から確認できませんでした（{exc.reason}）。") from exc
    return found


def children_of(
    session: Session, subject: Subject, guardian_register_id: str, *, nodes: Mapping[str, Node],
    manifests: ManifestSet, today: date, key: Ed25519PrivateKey | None = None,
) -> list[Child]:
    """The guardian's children now, by the register (each check recorded against the child)."""
    source, node = _register(manifests, nodes)
    own = authorise(session, subject, "family.household.check", PURPOSE, items=("household_number", RELATIONSHIP_ITEM),
                    relationship="none", sensitivity=1, holder=HOLDER, key=key)
    if not own.allowed:
        raise Refused(own.reason, own)
    guardian = _rows(node, source, subject, [guardian_register_id]).get(guardian_register_id)
    if guardian is None or guardian.gone or not guardian.household \
            or guardian.relationship not in PARENT_RELATIONSHIPS:
        return []
    links = session.execute(
        select(PersonLink.person_id, PersonLink.local_id)
        .join(HouseholdMember, HouseholdMember.person_id == PersonLink.person_id)
        .where(HouseholdMember.household_id == f"H:{guardian.household}", HouseholdMember.valid_to.is_(None),
               HouseholdMember.role == "child", PersonLink.source == source)
        .order_by(PersonLink.person_id)
    ).all()
    if not links:
        return []
    rows = _rows(node, source, subject, [local_id for _p, local_id in links])
    children = []
    for person_id, local_id in links:
        decision = authorise(session, subject, "family.household.check", PURPOSE, person_id=person_id,
                             items=("household_number", RELATIONSHIP_ITEM), relationship="none", sensitivity=1,
                             holder=HOLDER, key=key)
        row = rows.get(local_id)
        if not decision.allowed or row is None:
            continue
        if row.household == guardian.household and row.relationship == CHILD_RELATIONSHIP and not row.gone \
                and row.birth_date is not None and age_on(row.birth_date, today) < ADULT_AGE:
            children.append(Child(person_id, row.name, row.birth_date, row.sex, local_id))
    return children


def relationship_to(children: list[Child], person_id: str) -> str:
    """``own_child`` for a child the register shows as the guardian's, else ``none`` (refused)."""
    return OWN_CHILD if any(c.person_id == person_id for c in children) else "none"
