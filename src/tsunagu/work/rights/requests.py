"""本人・法定代理人からの請求: disclosure, correction, suspension and deletion requests.

A request is received, handled and decided within the statutory period (``deadlines.yaml``);
the period may be extended once, with a recorded reason, before it runs out. Every step is
decided and recorded through ``privacy.authorise(..., "requests.handle", "disclosure_handling")``
in the caller's transaction, and appended to the request's own history, so the officer, the
family and an auditor can all see who did what and when.

Completing a request does what it asks: a suspension request creates the suspension of use
(``work.suspensions``), a deletion request deletes the hub's derived data (``deletion``), a
correction request completes once the holding departments have answered every notice, and a
disclosure request once a disclosure pack has been issued.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.privacy import AuditEvent, Decision, Subject, append, authorise
from tsunagu.privacy.policy import JST
from tsunagu.work import suspensions
from tsunagu.work.access import is_suspended, relationship
from tsunagu.work.child import person_exists
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.models import UseSuspension
from tsunagu.work.rights.corrections import CorrectionClaim, NoticeView, notices_of_request, open_notices
from tsunagu.work.rights.deadlines import KINDS, default_periods, due_on, extended_due_on
from tsunagu.work.rights.deletion import DeletionScope, delete_derived
from tsunagu.work.rights.models import CorrectionNotice, DataRequest, DataRequestEvent, DisputedItem

ACTION = "requests.handle"
PURPOSE = "disclosure_handling"
STATUS_LABELS = {
    "received": "受付", "in_progress": "対応中", "extended": "期限延長中", "completed": "完了",
    "refused": "請求に応じない決定",
}
OPEN_STATUSES = ("received", "in_progress", "extended")
REQUESTER_KINDS = {"person": "本人", "legal_representative": "法定代理人（親権者など）", "agent": "任意代理人"}
EVENT_LABELS = {
    "status": "状況の変更", "extension": "期限の延長", "pack": "開示資料の作成", "notice": "保有部署からの回答",
    "lift": "利用停止の解除", "deletion": "派生データの削除",
}
MIN_REASON_CHARS = 10
MAX_NOTE_CHARS = 200


@dataclass(frozen=True)
class EventView:
    at: datetime
    actor: str
    role: str
    event: str
    event_label: str
    from_status: str | None
    to_status: str
    to_status_label: str
    note: str


@dataclass(frozen=True)
class RequestView:
    id: int
    kind: str
    kind_label: str
    person_id: str
    requester_kind: str
    requester_label: str
    requester_note: str
    received_on: date
    due_on: date
    extended_due_on: date | None
    extension_reason: str | None
    status: str
    status_label: str
    handler: str
    outcome_note: str | None
    created_at: datetime
    closed_at: datetime | None
    article: str
    extension_article: str
    detail: dict[str, Any]
    today: date
    events: tuple[EventView, ...] = ()
    notices: tuple[NoticeView, ...] = field(default_factory=tuple)

    @property
    def effective_due_on(self) -> date:
        return self.extended_due_on or self.due_on

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def overdue(self) -> bool:
        return self.open and self.today > self.effective_due_on

    @property
    def days_left(self) -> int:
        return (self.effective_due_on - self.today).days

    @property
    def may_extend(self) -> bool:
        return self.open and self.extended_due_on is None and self.today <= self.due_on


def jst_today() -> date:
    return datetime.now(JST).date()


def handle(session: Session, subject: Subject, person_id: str | None, key: Ed25519PrivateKey | None, *,
            sensitivity: int = 1) -> Decision:
    """Decide and record one step; Refused (already recorded) when the policy says no."""
    rel = relationship(session, subject, person_id) if person_id is not None else "municipality"
    decision = authorise(session, subject, ACTION, PURPOSE, person_id=person_id, relationship=rel,
                         sensitivity=sensitivity, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    return decision


def _row(session: Session, request_id: int, subject: Subject | None = None,
         key: Ed25519PrivateKey | None = None) -> DataRequest:
    row = session.get(DataRequest, request_id)
    if row is None:
        if subject is not None:
            # A role that may not handle requests at all is refused — and recorded — whatever the
            # number: "not found" would tell it which numbers exist, and leave no trace of the attempt.
            handle(session, subject, None, key)
        raise NotFound(f"受付番号 {request_id} の請求はありません。")
    return row


def _event(session: Session, row: DataRequest, subject: Subject, event: str, to_status: str, note: str) -> None:
    session.add(DataRequestEvent(request_id=row.id, at=datetime.now(UTC), actor=subject.user_id, role=subject.role,
                                 event=event, from_status=row.status, to_status=to_status, note=note))
    if to_status != row.status:
        row.status = to_status
    row.updated_at = datetime.now(UTC)
    session.flush()


def view(session: Session, row: DataRequest, *, today: date | None = None, manifests: ManifestSet | None = None,
         history: bool = True) -> RequestView:
    period = default_periods().of(row.kind)
    events: tuple[EventView, ...] = ()
    if history:
        rows = session.scalars(select(DataRequestEvent).where(DataRequestEvent.request_id == row.id)
                               .order_by(DataRequestEvent.id))
        events = tuple(EventView(e.at, e.actor, e.role, e.event, EVENT_LABELS.get(e.event, e.event), e.from_status,
                                 e.to_status, STATUS_LABELS.get(e.to_status, e.to_status), e.note) for e in rows)
    notices = tuple(notices_of_request(session, row.id, manifests)) if history and row.kind == "correction" else ()
    return RequestView(
        row.id, row.kind, period.label, row.person_id, row.requester_kind,
        REQUESTER_KINDS.get(row.requester_kind, row.requester_kind), row.requester_note, row.received_on, row.due_on,
        row.extended_due_on, row.extension_reason, row.status, STATUS_LABELS.get(row.status, row.status), row.handler,
        row.outcome_note, row.created_at, row.closed_at, period.article, period.extension_article,
        json.loads(row.detail_json or "{}"), today or jst_today(), events, notices,
    )


def create_request(
    session: Session, subject: Subject, person_id: str, kind: str, *, requester_kind: str, received_on: date,
    requester_note: str = "", claims: Sequence[CorrectionClaim] = (), deletion: DeletionScope | None = None,
    manifests: ManifestSet | None = None, today: date | None = None, key: Ed25519PrivateKey | None = None,
) -> RequestView:
    """Record a request as received; its due date follows from the kind and the day of receipt."""
    person_id = person_id.strip()
    if not person_id:
        raise Invalid("個人IDを入力してください。", field="person_id")
    handle(session, subject, person_id, key)
    return receive(session, subject, person_id, kind, requester_kind=requester_kind, received_on=received_on,
                   requester_note=requester_note, claims=claims, deletion=deletion, manifests=manifests,
                   today=today, handler=subject.user_id)


def receive(
    session: Session, subject: Subject, person_id: str, kind: str, *, requester_kind: str, received_on: date,
    requester_note: str = "", claims: Sequence[CorrectionClaim] = (), deletion: DeletionScope | None = None,
    manifests: ManifestSet | None = None, today: date | None = None, handler: str = "",
) -> RequestView:
    """Put a request, already decided and recorded by the caller, into the queue as received: the
    staff's ``create_request`` (``requests.handle``) and the family portal's online request
    (``family.requests.file``, with no handler until an officer takes it in hand) both come here."""
    day = today or jst_today()
    if kind not in KINDS:
        raise Invalid(f"請求の種類は {'・'.join(default_periods().of(k).label for k in KINDS)} のいずれかです。", field="kind")
    if requester_kind not in REQUESTER_KINDS:
        raise Invalid(f"請求者は {'・'.join(REQUESTER_KINDS.values())} のいずれかです。", field="requester_kind")
    if len(requester_note.strip()) > MAX_NOTE_CHARS:
        raise Invalid(f"請求者の補足は{MAX_NOTE_CHARS}文字以内にしてください（氏名・住所は請求書に残し、ここには書きません）。", field="requester_note")
    if received_on > day:
        raise Invalid("受付日が未来の日付です。", field="received_on")
    if not person_exists(session, person_id):
        raise NotFound(f"個人ID {person_id} の子どもはいません。")
    if kind == "correction" and manifests is None:
        raise Invalid("訂正請求には取込定義（データソース）が必要です。")
    scope = deletion or DeletionScope()
    if kind == "deletion":
        scope.check()
    detail: dict[str, Any] = {}
    if kind == "deletion":
        detail = {"work_records": scope.work_records, "work_reason": scope.work_reason.strip()}
    now = datetime.now(UTC)
    row = DataRequest(
        kind=kind, person_id=person_id, requester_kind=requester_kind, requester_note=requester_note.strip(),
        received_on=received_on, due_on=due_on(received_on, kind), status="received", handler=handler,
        detail_json=json.dumps(detail, ensure_ascii=False), created_by=subject.user_id, created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    session.add(DataRequestEvent(request_id=row.id, at=now, actor=subject.user_id, role=subject.role, event="status",
                                 from_status=None, to_status="received",
                                 note=f"受付（{REQUESTER_KINDS[requester_kind]}）"))
    if kind == "correction":
        assert manifests is not None
        notices = open_notices(session, row, claims, manifests)
        row.detail_json = json.dumps({"notices": [n.id for n in notices]})
    session.flush()
    return view(session, row, today=day, manifests=manifests)


def list_requests(
    session: Session, subject: Subject, *, open_only: bool = False, today: date | None = None,
    key: Ed25519PrivateKey | None = None,
) -> list[RequestView]:
    """Requests by due date, open ones first; one audit entry per child listed, as for every list."""
    decision = handle(session, subject, None, key)
    stmt = select(DataRequest)
    if open_only:
        stmt = stmt.where(DataRequest.status.in_(OPEN_STATUSES))
    day = today or jst_today()
    views = [view(session, r, today=day, history=False) for r in session.scalars(stmt)]
    views.sort(key=lambda v: (not v.open, v.effective_due_on if v.open else date.max, -v.id))
    at = datetime.now(UTC)
    for person_id in dict.fromkeys(v.person_id for v in views):
        append(session, AuditEvent.from_decision(subject, decision, ACTION, PURPOSE, person_id=person_id, at=at),
               key=key)
    return views


def get_request(session: Session, subject: Subject, request_id: int, *, today: date | None = None,
                manifests: ManifestSet | None = None, key: Ed25519PrivateKey | None = None) -> RequestView:
    row = _row(session, request_id, subject, key)
    handle(session, subject, row.person_id, key)
    return view(session, row, today=today, manifests=manifests)


def _open(row: DataRequest) -> None:
    if row.status not in OPEN_STATUSES:
        raise Invalid(f"この請求は既に{STATUS_LABELS[row.status]}です。")


def start(session: Session, subject: Subject, request_id: int, *, handler: str | None = None, note: str = "",
          today: date | None = None, key: Ed25519PrivateKey | None = None) -> RequestView:
    """Take the request in hand (対応中), optionally naming another handler."""
    row = _row(session, request_id, subject, key)
    handle(session, subject, row.person_id, key)
    _open(row)
    if handler is not None and handler.strip():
        row.handler = handler.strip()
    status = row.status if row.status == "extended" else "in_progress"
    _event(session, row, subject, "status", status, note.strip() or f"担当: {row.handler}")
    return view(session, row, today=today)


def extend(session: Session, subject: Subject, request_id: int, reason: str, *, today: date | None = None,
           key: Ed25519PrivateKey | None = None) -> RequestView:
    """Extend the period once, with the reason the requester will be told (before the due date)."""
    row = _row(session, request_id, subject, key)
    handle(session, subject, row.person_id, key)
    _open(row)
    day = today or jst_today()
    period = default_periods().of(row.kind)
    if row.extended_due_on is not None:
        raise Invalid("期限は既に延長されています（延長は1回です）。")
    if day > row.due_on:
        raise Invalid(f"当初の期限（{row.due_on.isoformat()}）を過ぎてからは延長できません（{period.extension_article}）。")
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise Invalid(f"延長の理由を{MIN_REASON_CHARS}文字以上で入力してください（請求者に通知します）。", field="note")
    if period.extension_days == 0:
        raise Invalid(f"{period.label}の期限は延長できません。")
    row.extended_due_on = extended_due_on(row.due_on, row.kind)
    row.extension_reason = reason.strip()
    _event(session, row, subject, "extension", "extended",
           f"期限を {row.extended_due_on.isoformat()} まで延長（{period.extension_article}）: {reason.strip()}")
    return view(session, row, today=day)


def refuse(session: Session, subject: Subject, request_id: int, reason: str, *, today: date | None = None,
           key: Ed25519PrivateKey | None = None) -> RequestView:
    """Decide not to comply (不開示・訂正しない・利用停止しない), with the reason the requester is told."""
    row = _row(session, request_id, subject, key)
    handle(session, subject, row.person_id, key)
    _open(row)
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise Invalid(f"請求に応じない理由を{MIN_REASON_CHARS}文字以上で入力してください（請求者に通知します）。", field="note")
    row.outcome_note, row.closed_at = reason.strip(), datetime.now(UTC)
    _close_disputes(session, row)
    _event(session, row, subject, "status", "refused", reason.strip())
    return view(session, row, today=today)


def _close_disputes(session: Session, row: DataRequest) -> None:
    """A correction request refused as a whole leaves no value marked as disputed by it."""
    if row.kind != "correction":
        return
    now = datetime.now(UTC)
    notice_ids = list(session.scalars(select(CorrectionNotice.id).where(CorrectionNotice.request_id == row.id)))
    for notice in session.scalars(select(CorrectionNotice).where(CorrectionNotice.id.in_(notice_ids),
                                                                 CorrectionNotice.status == "open")):
        notice.status, notice.resolved_at, notice.resolution_note = "rejected", now, "請求に応じない決定により終了"
    for dispute in session.scalars(select(DisputedItem).where(DisputedItem.notice_id.in_(notice_ids),
                                                              DisputedItem.status == "disputed")):
        dispute.status, dispute.resolved_at = "rejected", now


def complete(session: Session, subject: Subject, request_id: int, note: str = "", *, today: date | None = None,
             key: Ed25519PrivateKey | None = None) -> RequestView:
    """Decide and do what was asked (see the module docstring for what each kind does)."""
    row = _row(session, request_id, subject, key)
    handle(session, subject, row.person_id, key)
    _open(row)
    text = note.strip()
    if row.kind == "disclosure":
        issued = session.scalars(select(DataRequestEvent.id).where(
            DataRequestEvent.request_id == row.id, DataRequestEvent.event == "pack").limit(1)).first()
        if issued is None:
            raise Invalid("開示資料をまだ作成していません。作成してから完了にしてください。")
    elif row.kind == "correction":
        waiting = session.scalars(select(CorrectionNotice.id).where(
            CorrectionNotice.request_id == row.id, CorrectionNotice.status == "open")).all()
        if waiting:
            raise Invalid(f"保有部署からの回答を待っている訂正の連絡があります（{len(waiting)}件）。")
    elif row.kind == "suspension":
        text = _suspend(session, subject, row, key) + (f"。{text}" if text else "")
    elif row.kind == "deletion":
        detail = json.loads(row.detail_json or "{}")
        scope = DeletionScope(bool(detail.get("work_records")), str(detail.get("work_reason", "")))
        report = delete_derived(session, row.person_id, scope, actor=subject.user_id, request_id=row.id)
        _event(session, row, subject, "deletion", row.status, f"削除: {report.summary()}（アクセス記録は削除しません）")
        text = f"派生データを削除しました: {report.summary()}" + (f"。{text}" if text else "")
    row.outcome_note, row.closed_at = text or None, datetime.now(UTC)
    _event(session, row, subject, "status", "completed", text or "完了")
    return view(session, row, today=today)


def _suspend(session: Session, subject: Subject, row: DataRequest, key: Ed25519PrivateKey | None) -> str:
    if is_suspended(session, row.person_id):
        since = session.scalars(select(UseSuspension.since).where(
            UseSuspension.person_id == row.person_id, UseSuspension.active.is_(True))).first()
        return f"既に利用停止中です（{since:%Y-%m-%d}から）" if since else "既に利用停止中です"
    suspensions.suspend(session, subject, row.person_id, f"利用停止請求（受付番号 {row.id}）", key=key)
    return "利用を停止しました（一覧・画面・スクリーニングの対象外）"


def lift_suspension(session: Session, subject: Subject, request_id: int, reason: str, *, today: date | None = None,
                    key: Ed25519PrivateKey | None = None) -> RequestView:
    """End the suspension a request created (e.g. the family withdrew it), with the reason on record."""
    row = _row(session, request_id, subject, key)
    handle(session, subject, row.person_id, key)
    if row.kind != "suspension" or row.status != "completed":
        raise Invalid("解除できるのは、完了した利用停止請求による利用停止だけです。")
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise Invalid(f"解除の理由を{MIN_REASON_CHARS}文字以上で入力してください。")
    lifted = suspensions.lift(session, subject, row.person_id, key=key)
    if not lifted:
        raise Invalid("この子どもの利用停止は既に解除されています。")
    _event(session, row, subject, "lift", row.status, f"利用停止を解除: {reason.strip()}")
    return view(session, row, today=today)


def record_pack_issued(session: Session, subject: Subject, row: DataRequest, formats: str) -> None:
    """The disclosure pack was produced (its reads are already in the audit log)."""
    _event(session, row, subject, "pack", row.status, f"開示資料を作成（{formats}）")


def request_row(session: Session, request_id: int) -> DataRequest:
    return _row(session, request_id)
