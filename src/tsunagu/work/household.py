"""世帯の表示: the household of a child, seen through that child's page (same purpose, same record).

The household has no page of its own in the policy: what may be shown of it depends on who the
user is to the child (``work.facesheet``). So the view opens the child's summary for the purpose
(``child.view``, recorded), then the members one by one as the face sheet does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from tsunagu.catalog import catalog_of
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.privacy import NoteCipher, Subject, authorise
from tsunagu.privacy.policy import policy_of
from tsunagu.privacy.records import existence_sensitivity, record_item
from tsunagu.vault.node import Node
from tsunagu.work.child import ChildView, summary, visibility
from tsunagu.work.classes import class_of_child
from tsunagu.work.facesheet import FaceSheet, build_face_sheet
from tsunagu.work.identities import register_identities


def household_view(
    session: Session, subject: Subject, purpose: str, person_id: str, *, nodes: Mapping[str, Node],
    manifests: ManifestSet, cipher: NoteCipher, key: Ed25519PrivateKey | None = None, today: date | None = None,
) -> tuple[ChildView, FaceSheet]:
    view = summary(session, subject, purpose, person_id, cipher=cipher, key=key)
    read = visibility(policy_of(session), subject, "child.items.read", purpose, view.relationship, view.break_glass)
    register = manifests.register()
    identity: dict[str, str] = {}
    level = existence_sensitivity(register.item_ids) if register is not None else 1
    if register is not None and read(level, register.department) and authorise(
            session, subject, "child.items.read", purpose, person_id=person_id,
            items=(record_item(register.department, register.source),), relationship=view.relationship, sensitivity=level,
            holder=register.department, key=key).allowed:
        row = register_identities(nodes, manifests, session, subject, purpose, [person_id]).get(person_id, {})
        born = row.get("birth_date")
        identity = {"氏名": str(row.get("full_name") or ""), "よみ": str(row.get("reading") or ""),
                    "生年月日": born.isoformat() if isinstance(born, date) else ""}
    # The class as the child page's face sheet shows it (``work.classes``): asked of the schools for this one item.
    school_class = class_of_child(session, subject, purpose, person_id, view.relationship, read=read,
                                  catalog=catalog_of(session), nodes=nodes, manifests=manifests, key=key)
    sheet = build_face_sheet(session, subject, purpose, person_id, view.relationship, identity=identity,
                             reasons=view.reasons, plans=view.plans, nodes=nodes, manifests=manifests, read=read,
                             today=today or datetime.now(UTC).date(), key=key, school_class=school_class)
    return view, sheet
