"""The names, readings and birth dates of linked children, from the resident register's node.

The search results and the face sheet's household members both show them; the node decides and logs
what it releases for the purpose, and nothing is kept on the hub."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import PersonLink
from tsunagu.privacy import Subject
from tsunagu.vault.node import Node, NodeRequest


def register_identities(nodes: Mapping[str, Node], manifests: ManifestSet, session: Session, subject: Subject,
                         purpose: str, person_ids: list[str]) -> dict[str, dict[str, object]]:
    register = manifests.register()
    if register is None or register.department not in nodes or not person_ids:
        return {}
    # By person only, the source compared here: with both in the query SQLite chose the (source,
    # local id) index and read the register's 240,000 links at 100,000 children (0.14 s a search).
    links = session.execute(select(PersonLink.person_id, PersonLink.local_id, PersonLink.source)
                            .where(PersonLink.person_id.in_(person_ids))).all()
    person_of = {local_id: person_id for person_id, local_id, source in links if source == register.source}
    if not person_of:
        return {}
    request = NodeRequest(requester=subject.user_id, role=subject.role, purpose=purpose,
                          fields=("full_name", "reading", "birth_date"))
    try:
        answer = nodes[register.department].identifiers(request, local_ids=[(register.source, i) for i in person_of])
    except Exception:  # a node that is down or refuses: the page shows the children without names
        return {}
    return {person_of[str(row["local_id"])]: row for row in answer.data.iter_rows(named=True)
            if str(row.get("local_id")) in person_of}
