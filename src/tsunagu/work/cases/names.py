"""Children's names for the case pages and printouts, asked of the resident registry's node.

The node applies its own release rules to the user's role and purpose; a refusal or a node that is
down leaves the name out (the page or printout says so) rather than failing. Callers record the
read: each list entry or print names the registry record (``NAME_ITEM``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.models import PersonLink
from tsunagu.privacy import Subject
from tsunagu.privacy.records import record_item
from tsunagu.vault.node import Node, NodeRequest

SPINE = "juki_jumin"
REGISTRY = "resident_registry"
NAME_FIELDS = ("full_name", "reading", "birth_date")
NO_NAME = "（氏名を取得できません）"


@dataclass(frozen=True)
class Identity:
    name: str
    reading: str
    birth_date: str


NAME_ITEM = record_item(REGISTRY, SPINE)


def identities(session: Session, subject: Subject, purpose: str, person_ids: Sequence[str],
               nodes: Mapping[str, Node]) -> dict[str, Identity]:
    """Names from the resident registry's node, which applies its own release rules to the role."""
    links = dict(session.execute(select(PersonLink.person_id, PersonLink.local_id).where(
        PersonLink.person_id.in_(list(person_ids)), PersonLink.source == SPINE)).all())
    node = nodes.get(REGISTRY)
    if node is None or not links:
        return {}
    request = NodeRequest(requester=subject.user_id, role=subject.role, purpose=purpose, fields=NAME_FIELDS)
    try:
        frame = node.identifiers(request, local_ids=[(SPINE, local) for local in links.values()]).data
    except Exception:  # refused or down: the printout says the name could not be had, it does not fail
        return {}
    by_local = {str(r["local_id"]): r for r in frame.iter_rows(named=True)}
    found = {}
    for pid, local in links.items():
        row = by_local.get(local)
        if row is not None:
            birth = row.get("birth_date")
            found[pid] = Identity(str(row.get("full_name") or ""), str(row.get("reading") or ""),
                                  birth.isoformat() if isinstance(birth, date) else str(birth or ""))
    return found
