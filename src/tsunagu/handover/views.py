"""What the staff pages show, each read decided and recorded: the worklist (tasks, sent packages,
the intake queue), one task, one package (opened for the reader), the trusted municipalities."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.handover import envelope
from tsunagu.handover.detect import REASON_LABELS, TASK_STATUS_LABELS
from tsunagu.handover.directory import all_municipalities
from tsunagu.handover.inbox import RECEIVED_STATUS_LABELS, open_received
from tsunagu.handover.keys import Identity
from tsunagu.handover.legal import KINDS, kind_label
from tsunagu.handover.models import HandoverEvent, HandoverPackage, HandoverTask, TrustedMunicipality
from tsunagu.handover.outbox import SENT_STATUS_LABELS
from tsunagu.handover.records import EVENT_LABELS
from tsunagu.privacy import Subject, authorise
from tsunagu.work.access import guard, list_scope, record_listed
from tsunagu.work.errors import NotFound, Refused
from tsunagu.work.models import User

PURPOSE = "handover"


@dataclass(frozen=True)
class TaskRow:
    id: int
    person_id: str
    direction_label: str
    moved_on: date
    kind_label: str
    reasons: list[str]
    due_on: date
    owner: str
    status: str
    status_label: str
    package_id: str | None
    overdue: bool


@dataclass(frozen=True)
class PackageRow:
    package_id: str
    direction: str
    kind_label: str
    peer_name: str
    person_id: str | None
    status_label: str
    at: datetime | None
    due_on: date | None
    escalated: bool
    accepted_by: str | None


@dataclass
class Worklist:
    tasks: list[TaskRow] = field(default_factory=list)
    sent: list[PackageRow] = field(default_factory=list)
    received: list[PackageRow] = field(default_factory=list)


def _owners(session: Session, tasks: list[HandoverTask]) -> dict[str, str]:
    """Owners by display name: a person reads a name, not an account id."""
    ids = {t.owner for t in tasks if t.owner}
    if not ids:
        return {}
    return {user_id: name for user_id, name in session.execute(
        select(User.user_id, User.display_name).where(User.user_id.in_(ids)))}


def _task_row(task: HandoverTask, today: date, owners: dict[str, str]) -> TaskRow:
    kind = "前住所地への照会" if task.kind == "inquiry" else kind_label(task.kind)
    return TaskRow(task.id, task.person_id, "転出" if task.direction == "out" else "転入", task.moved_on, kind,
                   [REASON_LABELS.get(r, r) for r in json.loads(task.reasons_json)], task.due_on,
                   owners.get(task.owner, task.owner) if task.owner else "未割当",
                   task.status, TASK_STATUS_LABELS.get(task.status, task.status), task.package_id,
                   task.status != "closed" and task.due_on <= today)


def _package_row(row: HandoverPackage, names: dict[str, str]) -> PackageRow:
    labels = SENT_STATUS_LABELS if row.direction == "sent" else RECEIVED_STATUS_LABELS
    return PackageRow(row.package_id, row.direction, kind_label(row.kind), names.get(row.peer_code, row.peer_code),
                      row.person_id, labels.get(row.status, row.status),
                      row.sent_at if row.direction == "sent" else row.received_at, row.due_on,
                      row.escalated_at is not None, row.accepted_by)


def worklist(session: Session, subject: Subject, today: date, *, key: Ed25519PrivateKey | None = None) -> Worklist:
    scope, decision = list_scope(session, subject, "handover.send", PURPOSE, sensitivity=3, key=key)
    names = {m.code: m.name for m in all_municipalities(session)}
    tasks = [t for t in session.scalars(select(HandoverTask).order_by(HandoverTask.status == "closed",
                                                                       HandoverTask.due_on))
             if scope.covers(t.person_id, None)]
    packages = list(session.scalars(select(HandoverPackage).order_by(HandoverPackage.created_at.desc())))
    shown = [p for p in packages if p.person_id is None or scope.covers(p.person_id, None)]
    owners = _owners(session, tasks)
    view = Worklist([_task_row(t, today, owners) for t in tasks],
                    [_package_row(p, names) for p in shown if p.direction == "sent"],
                    [_package_row(p, names) for p in shown if p.direction == "received"])
    persons = sorted({t.person_id for t in tasks} | {p.person_id for p in shown if p.person_id is not None})
    record_listed(session, subject, decision, "handover.send", PURPOSE, persons, key=key)
    return view


def allow_detection(session: Session, subject: Subject, *, action: str = "handover.send",
                    key: Ed25519PrivateKey | None = None) -> None:
    """The municipality's hand-over work as a whole (running detection reads the whole register's
    moves; a command names no child before it looks one up): decided and recorded, or Refused."""
    decision = authorise(session, subject, action, PURPOSE, relationship="municipality", sensitivity=3, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def _events(session: Session, *, task_id: int | None = None, package_id: str | None = None) -> list[dict[str, Any]]:
    query = select(HandoverEvent).order_by(HandoverEvent.at, HandoverEvent.id)
    query = query.where(HandoverEvent.task_id == task_id) if task_id is not None else \
        query.where(HandoverEvent.package_id == package_id)
    return [{"at": e.at, "label": EVENT_LABELS.get(e.event, e.event), "outcome": e.outcome, "detail": e.detail}
            for e in session.scalars(query)]


@dataclass
class TaskView:
    task: TaskRow
    events: list[dict[str, Any]]
    municipalities: list[TrustedMunicipality]
    kinds: dict[str, str]
    suggested: str
    suggested_peer: str  # from the register's 転出先, when it names a trusted municipality


def task_view(session: Session, subject: Subject, task_id: int, today: date, *,
              key: Ed25519PrivateKey | None = None) -> TaskView:
    task = session.get(HandoverTask, task_id)
    if task is None:
        raise NotFound(f"引継ぎの課題 {task_id} はありません。")
    guard(session, subject, "handover.send", PURPOSE, task.person_id, sensitivity=1, key=key)
    return TaskView(_task_row(task, today, _owners(session, [task])), _events(session, task_id=task_id),
                    [m for m in all_municipalities(session) if m.active], {k: kind_label(k) for k in KINDS},
                    task.kind if task.kind in KINDS else "information_provision", task.suggested_peer or "")


@dataclass
class PackageView:
    row: PackageRow
    events: list[dict[str, Any]]
    content: dict[str, Any] | None  # received packages only: what was sent, opened for the reader
    pdf: bytes | None
    accepted: bool
    linked: bool


def package_view(session: Session, subject: Subject, package_id: str, identity: Identity, *,
                 key: Ed25519PrivateKey | None = None) -> PackageView:
    row = session.get(HandoverPackage, package_id)
    if row is None:
        raise NotFound(f"パッケージ {package_id} はありません。")
    action = "handover.send" if row.direction == "sent" else "handover.intake"
    if row.person_id is not None:
        guard(session, subject, action, PURPOSE, row.person_id, sensitivity=3, key=key)
    else:  # an arrival not yet registered: no person here yet, so the whole municipality's intake decides
        decision = authorise(session, subject, action, PURPOSE, relationship="municipality", sensitivity=3,
                             request_id=package_id, key=key)
        if not decision.allowed:
            raise Refused(decision.reason, decision)
    names = {m.code: m.name for m in all_municipalities(session)}
    content: dict[str, Any] | None = None
    pdf: bytes | None = None
    if row.direction == "received":
        try:
            opened = open_received(row, identity, session)
            content, pdf = opened.content, opened.pdf
        except envelope.EnvelopeError:
            content = None
    return PackageView(_package_row(row, names), _events(session, package_id=package_id), content, pdf,
                       row.status == "accepted", row.person_id is not None)


def municipalities(session: Session, subject: Subject, *, key: Ed25519PrivateKey | None = None,
                   ) -> list[TrustedMunicipality]:
    decision = authorise(session, subject, "handover.manage", "administration", key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    return all_municipalities(session)
