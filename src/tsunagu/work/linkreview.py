"""名寄せ確認 for staff: uncertain pairs side by side, decided with a reason.

Link review shows identifying attributes only (sensitivity 1): the policy's ``link.review`` for
the screening purpose, across the municipality (centre caseworkers and data stewards).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link import review as queue
from tsunagu.privacy import Subject, authorise
from tsunagu.vault.node import Node
from tsunagu.work.errors import Invalid, NotFound, Refused

ACTION = "link.review"
PURPOSE = "screening"
FIELD_LABELS = {"full_name": "氏名", "reading": "よみ", "birth_date": "生年月日", "sex": "性別", "address": "住所",
                "guardian_name": "保護者氏名", "school_code": "学校コード", "aza_number": "宛名番号"}


@dataclass(frozen=True)
class PairView:
    id: int
    left_key: str
    right_key: str
    match_probability: float
    rows: list[tuple[str, str, str, bool]]  # label, left, right, same


def _authorise(session: Session, subject: Subject, key: Ed25519PrivateKey | None) -> None:
    decision = authorise(session, subject, ACTION, PURPOSE, relationship="municipality", sensitivity=1, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def pending_pairs(
    session: Session, subject: Subject, nodes: Mapping[str, Node], manifests: ManifestSet, *, limit: int = 20,
    key: Ed25519PrivateKey | None = None,
) -> list[PairView]:
    _authorise(session, subject, key)
    pairs = []
    for pair in queue.open_pairs(session, limit):
        try:
            rows = queue.side_by_side(pair, nodes, manifests, subject.user_id, subject.role)
        except Exception:  # a department's node being down hides its pair, not the whole queue
            continue
        pairs.append(PairView(pair.id, pair.left_key, pair.right_key, pair.match_probability,
                              [(FIELD_LABELS.get(n, n), left, right, left == right) for n, left, right in rows]))
    return pairs


def decide_pair(session: Session, subject: Subject, pair_id: int, decision: str, reason: str, *,
                key: Ed25519PrivateKey | None = None) -> None:
    _authorise(session, subject, key)
    try:
        queue.decide(session, pair_id, decision, subject.user_id, reason)
    except LookupError as exc:
        raise NotFound(str(exc)) from exc
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
