"""利用停止: the family's request to stop using the child's data, handled by the privacy officer.

While a suspension is active the child appears in no list and no page (``access.guard`` and
the list scopes refuse), except the privacy officer's, who handles the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import Subject, authorise
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.models import UseSuspension

ACTION = "requests.handle"
PURPOSE = "disclosure_handling"


@dataclass(frozen=True)
class SuspensionView:
    id: int
    person_id: str
    since: datetime
    reason: str
    active: bool
    recorded_by: str
    lifted_at: datetime | None


def _view(row: UseSuspension) -> SuspensionView:
    return SuspensionView(row.id, row.person_id, row.since, row.reason, row.active, row.recorded_by, row.lifted_at)


def _handle(session: Session, subject: Subject, person_id: str | None, key: Ed25519PrivateKey | None) -> None:
    # The privacy officer handles requests for the whole municipality, up to sensitivity 2.
    decision = authorise(session, subject, ACTION, PURPOSE, person_id=person_id, relationship="municipality",
                         sensitivity=1, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def suspend(session: Session, subject: Subject, person_id: str, reason: str, *,
            key: Ed25519PrivateKey | None = None) -> SuspensionView:
    _handle(session, subject, person_id, key)
    if not reason.strip():
        raise Invalid("利用停止の根拠（請求の受付番号など）を入力してください。", field="reason")
    existing = session.scalars(select(UseSuspension).where(
        UseSuspension.person_id == person_id, UseSuspension.active.is_(True))).first()
    if existing is not None:
        raise Invalid("この子どもの情報は既に利用停止中です。")
    row = UseSuspension(person_id=person_id, since=datetime.now(UTC), reason=reason.strip(), active=True,
                        recorded_by=subject.user_id)
    session.add(row)
    session.flush()
    return _view(row)


def lift(session: Session, subject: Subject, person_id: str, *, key: Ed25519PrivateKey | None = None) -> int:
    _handle(session, subject, person_id, key)
    rows = list(session.scalars(select(UseSuspension).where(
        UseSuspension.person_id == person_id, UseSuspension.active.is_(True))))
    for row in rows:
        row.active, row.lifted_at = False, datetime.now(UTC)
    session.flush()
    return len(rows)


def list_suspensions(session: Session, subject: Subject, *, key: Ed25519PrivateKey | None = None) -> list[SuspensionView]:
    _handle(session, subject, None, key)
    return [_view(r) for r in session.scalars(select(UseSuspension).order_by(UseSuspension.since.desc()))]
