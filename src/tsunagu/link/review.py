"""The clerical review queue: uncertain pairs, shown side by side, decided by a person.

Decisions are kept per record pair and every later run respects them, whatever the model says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link.models import ClericalPair, LinkDecision
from tsunagu.vault.node import Node, NodeRequest

SHOWN_FIELDS = ("full_name", "reading", "birth_date", "sex", "address", "guardian_name", "school_code", "aza_number")


@dataclass(frozen=True)
class ReviewPair:
    id: int
    left_key: str
    right_key: str
    match_probability: float
    comparison: dict[str, Any]


def open_pairs(session: Session, limit: int | None = None) -> list[ReviewPair]:
    query = select(ClericalPair).where(ClericalPair.status == "open").order_by(ClericalPair.match_probability.desc())
    if limit:
        query = query.limit(limit)
    return [ReviewPair(p.id, p.left_key, p.right_key, p.match_probability, json.loads(p.comparison_json))
            for p in session.scalars(query)]


def decide(session: Session, pair_id: int, decision: str, user: str, reason: str) -> LinkDecision:
    if decision not in ("match", "non_match"):
        raise ValueError("decision must be 'match' or 'non_match'")
    if len(reason.strip()) < 2:
        raise ValueError("判断の理由を入力してください / a reason is required")
    pair = session.get(ClericalPair, pair_id)
    if pair is None or pair.status != "open":
        raise LookupError(f"確認待ちの組 {pair_id} はありません / no open pair {pair_id}")
    pair.status = "decided"
    existing = session.scalars(select(LinkDecision).where(
        LinkDecision.left_key == pair.left_key, LinkDecision.right_key == pair.right_key)).first()
    if existing is not None:
        existing.decision, existing.decided_by, existing.decided_at, existing.reason = decision, user, datetime.now(UTC), reason
        return existing
    made = LinkDecision(left_key=pair.left_key, right_key=pair.right_key, decision=decision, decided_by=user,
                        decided_at=datetime.now(UTC), reason=reason)
    session.add(made)
    return made


def side_by_side(pair: ReviewPair, nodes: Mapping[str, Node], manifests: ManifestSet, requester: str,
                 role: str) -> list[tuple[str, str, str]]:
    """(field, left value, right value) for a person to compare; asks the two nodes for the records."""
    rows = []
    left = _identity(pair.left_key, nodes, manifests, requester, role)
    right = _identity(pair.right_key, nodes, manifests, requester, role)
    for name in SHOWN_FIELDS:
        rows.append((name, _text(left.get(name)), _text(right.get(name))))
    return rows


def _text(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _identity(key: str, nodes: Mapping[str, Node], manifests: ManifestSet, requester: str, role: str) -> dict[str, Any]:
    source, _, local_id = key.partition(":")
    department = manifests.get(source).department
    node = nodes[department]
    answer = node.identifiers(NodeRequest(requester=requester, role=role, purpose="assessment"),
                              local_ids=[(source, local_id)])
    found = answer.data
    return found.row(-1, named=True) if found.height else {}
