"""Issuing an enrolment code for a guardian's resident record (staff: ``family.codes.issue``).

The privacy officer names the guardian's 宛名番号 (from the family's application at the counter or
by post); the register is asked for the name and address the letter goes to, and whether the
record is a parent's (世帯主 or the head's spouse, as ``household`` requires). The plain code leaves
this function only for the letter; the hub keeps its hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.privacy import Subject, authorise
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.family.accounts import account_for, new_code
from tsunagu.work.family.household import (
    HOLDER,
    PARENT_RELATIONSHIPS,
    PURPOSE,
    RELATIONSHIP_ITEM,
    RegisterUnavailable,
)

ACTION = "family.codes.issue"
LETTER_FIELDS = ("full_name", "address", "postal_code")


@dataclass(frozen=True)
class IssuedCode:
    login_id: str
    code: str  # shown once, on the letter
    expires_at: datetime
    name: str
    address: str
    postal_code: str


def issue_code(
    session: Session, subject: Subject, register_id: str, *, nodes: Mapping[str, Node], manifests: ManifestSet,
    days: int, key: Ed25519PrivateKey | None = None, now: datetime | None = None,
) -> IssuedCode:
    register_id = register_id.strip()
    if not register_id:
        raise Invalid("保護者の宛名番号を入力してください。")
    decision = authorise(session, subject, ACTION, PURPOSE, items=(f"register:{register_id}", *LETTER_FIELDS),
                         relationship="municipality", sensitivity=1, holder=HOLDER, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    declared = manifests.register()
    node = nodes.get(declared.department) if declared is not None else None
    if declared is None or node is None:
        raise RegisterUnavailable("住民記録に接続できません。")
    ask = NodeRequest(requester=subject.user_id, role=subject.role, purpose=PURPOSE, fields=LETTER_FIELDS)
    items = NodeRequest(requester=subject.user_id, role=subject.role, purpose=PURPOSE, items=(RELATIONSHIP_ITEM,))
    try:
        rows = list(node.identifiers(ask, local_ids=[(declared.source, register_id)]).data.iter_rows(named=True))
        related = list(node.record(items, declared.source, register_id).data.iter_rows(named=True))
    except NodeRefusedError as exc:
        raise RegisterUnavailable(f"住民記録から確認できませんでした（{exc.reason}）。") from exc
    if not rows:
        raise NotFound(f"宛名番号 {register_id} の住民記録（現在の記録）はありません。")
    relation = next((r.get("value_text") for r in related if r["item_id"] == RELATIONSHIP_ITEM), None)
    if relation not in PARENT_RELATIONSHIPS:
        raise Invalid(f"宛名番号 {register_id} の続柄は「{relation or '不明'}」です。家族向けページは、世帯主またはその配偶者"
                      "（子どもの親）の記録について発行します。")
    moment = now or datetime.now(UTC)
    account = account_for(session, register_id, subject.user_id, moment)
    code, expires = new_code(session, account, subject.user_id, days, moment)
    row = rows[0]
    return IssuedCode(account.login_id, code, expires, str(row.get("full_name") or ""), str(row.get("address") or ""),
                      str(row.get("postal_code") or ""))
