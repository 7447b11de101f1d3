"""個人情報保護: the access log, a family's access history and the chain's verification, decided and recorded.

Reading the log is itself an access: each view is authorised and appended before it is read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.privacy import (
    AccessRecord,
    AuditEntry,
    Subject,
    VerifyReport,
    access_history,
    authorise,
    query_log,
    verify,
)
from tsunagu.work.errors import Refused


def _authorise(session: Session, subject: Subject, action: str, purpose: str, person_id: str | None,
               key: Ed25519PrivateKey | None, request_id: str | None = None) -> None:
    decision = authorise(session, subject, action, purpose, person_id=person_id, key=key, request_id=request_id)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def search_log(
    session: Session, subject: Subject, *, person_id: str | None = None, actor: str | None = None,
    since: datetime | None = None, limit: int = 200, key: Ed25519PrivateKey | None = None,
) -> list[AuditEntry]:
    """Newest entries matching, oldest first; the entry recording this search is left out."""
    request_id = uuid.uuid4().hex
    _authorise(session, subject, "audit.read", "administration", person_id, key, request_id)
    rows = query_log(session, person_id=person_id, actor=actor, since=since, limit=limit + 1)
    return [r for r in rows if r.request_id != request_id][-limit:]


@dataclass(frozen=True)
class LogPage:
    entries: list[AuditEntry]  # newest first
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_page(
    session: Session, subject: Subject, *, person_id: str | None = None, actor: str | None = None,
    action: str | None = None, since: datetime | None = None, until: datetime | None = None, page: int = 1,
    per_page: int = 50, key: Ed25519PrivateKey | None = None,
) -> LogPage:
    """One page of the entries matching, newest first (the entry recording this search left out),
    with the number matching: a filtered, paged log instead of one table of everything."""
    request_id = uuid.uuid4().hex
    _authorise(session, subject, "audit.read", "administration", person_id, key, request_id)
    where = [AuditEntry.request_id != request_id]
    if person_id:
        where.append(AuditEntry.person_id == person_id)
    if actor:
        where.append(AuditEntry.actor == actor)
    if action:
        where.append(AuditEntry.action == action)
    if since is not None:
        where.append(AuditEntry.at >= since.astimezone(UTC))
    if until is not None:
        where.append(AuditEntry.at < until.astimezone(UTC))
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = session.scalars(select(AuditEntry).where(*where).order_by(AuditEntry.seq.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    return LogPage(list(rows), int(total), page, per_page)


def history(session: Session, subject: Subject, person_id: str, *,
            key: Ed25519PrivateKey | None = None) -> list[AccessRecord]:
    """The family's data tracker: every access to the person's data (this view included)."""
    _authorise(session, subject, "audit.read", "disclosure_handling", person_id, key)
    return access_history(session, person_id)


def verify_log(session: Session, subject: Subject, *, key: Ed25519PrivateKey | None = None) -> VerifyReport:
    _authorise(session, subject, "audit.verify", "administration", None, key)
    return verify(session, key.public_key() if key is not None else None)
