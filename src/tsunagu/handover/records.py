"""The evidence both sides keep: a handover event per step or refusal, and its audit entry."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from tsunagu.handover.models import HandoverEvent
from tsunagu.privacy import AuditEvent, append

SYSTEM_ACTOR = "hub:handover"
VIA_LABELS = {"http": "HTTP", "file": "ファイル（LGWANメール）"}
EVENT_LABELS = {
    "detected": "検知", "prepared": "作成", "sent": "送付", "send_failed": "送付できず", "received": "受領",
    "refused": "受付拒否", "linked": "住民記録と照合", "unregistered": "未登録の転入者として保留", "accepted": "受理",
    "receipt": "受領通知", "receipt_refused": "受領通知を拒否", "escalated": "期限超過（督促）", "closed": "完了",
    "receipt_sent": "受領通知を送付",
}


def record(session: Session, event: str, detail: str, *, outcome: str = "ok", package_id: str | None = None,
           task_id: int | None = None, peer_code: str | None = None, actor: str = SYSTEM_ACTOR,
           person_id: str | None = None, audit_action: str | None = None, key: Ed25519PrivateKey | None = None,
           now: datetime | None = None) -> None:
    """One handover event and, for a system step, its audit entry (staff steps are audited by guard)."""
    at = now or datetime.now(UTC)
    session.add(HandoverEvent(at=at, package_id=package_id, task_id=task_id, event=event, outcome=outcome,
                              peer_code=(peer_code or "")[:6] or None, actor=actor[:200], detail=detail))
    if audit_action is not None:
        append(session, AuditEvent(
            actor=actor, role="system", organisation="hub", purpose="handover", action=audit_action,
            outcome="allowed" if outcome == "ok" else "denied", reason=detail[:2000], person_id=person_id,
            rule=f"handover.{event}", at=at,
        ), key=key)


def via_label(via: str) -> str:
    return VIA_LABELS.get(via, via)
