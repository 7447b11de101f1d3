"""Requests online: disclosure, correction and suspension of use, into the staff's own queue.

A guardian's request is the same ``DataRequest`` the privacy officer records from a paper form
(``work.rights.requests.receive``): received today, due by the statutory period of its kind
(``deadlines.yaml``), handled in the officer's queue. The guardian is the child's legal
representative (法定代理人, 個人情報の保護に関する法律第76条第2項). A correction names one of the
child's health records shown on the portal, so it goes to the holding department as a notice
(``work.rights.corrections``). The guardian sees the status of the requests they filed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.privacy import Subject, authorise
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.family.household import PURPOSE
from tsunagu.work.rights.corrections import CorrectionClaim
from tsunagu.work.rights.deadlines import default_periods
from tsunagu.work.rights.models import DataRequest
from tsunagu.work.rights.requests import OPEN_STATUSES, STATUS_LABELS, jst_today, receive

FILE_ACTION = "family.requests.file"
READ_ACTION = "family.requests.read"
ONLINE_KINDS = ("disclosure", "correction", "suspension")
KIND_EASY = {
    "disclosure": "市が持っている、お子さんの記録を見せてもらう",
    "correction": "まちがっている記録を、なおしてもらう",
    "suspension": "お子さんの記録を、つなぐ で使うのを止めてもらう",
}
STATUS_EASY = {"received": "受け付けました", "in_progress": "市が調べています", "extended": "市が調べています（期限を延ばしました）",
               "completed": "終わりました", "refused": "請求に応じないと決まりました"}
MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class FiledRequest:
    number: int
    kind_label: str
    received_on: date
    due_on: date
    status_label: str
    status_easy: str
    outcome_note: str | None
    article: str


def _decide(session: Session, subject: Subject, action: str, person_id: str, relationship: str,
            key: Ed25519PrivateKey | None) -> None:
    decision = authorise(session, subject, action, PURPOSE, person_id=person_id, relationship=relationship,
                         sensitivity=1, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def file_request(
    session: Session, subject: Subject, person_id: str, kind: str, *, relationship: str, note: str = "",
    claim: CorrectionClaim | None = None, manifests: ManifestSet, key: Ed25519PrivateKey | None = None,
) -> FiledRequest:
    _decide(session, subject, FILE_ACTION, person_id, relationship, key)
    if kind not in ONLINE_KINDS:
        raise Invalid("請求の種類を選んでください。")
    if len(note.strip()) > MAX_REASON_CHARS:
        raise Invalid(f"ひとことは{MAX_REASON_CHARS}文字以内で書いてください。")
    if kind == "correction" and claim is None:
        raise Invalid("なおしてほしい記録を選んでください。")
    if kind != "correction" and session.scalars(select(DataRequest.id).where(
            DataRequest.person_id == person_id, DataRequest.kind == kind, DataRequest.created_by == subject.user_id,
            DataRequest.status.in_(OPEN_STATUSES)).limit(1)).first() is not None:
        # One open request of a kind is one answer to wait for; a second would only queue a duplicate.
        raise Invalid(f"同じ種類の請求（{default_periods().of(kind).label}）を、いま市が調べています。回答をお待ちください。")
    view = receive(session, subject, person_id, kind, requester_kind="legal_representative", received_on=jst_today(),
                   requester_note=("家族向けページから。" + note.strip())[:200],
                   claims=[claim] if claim is not None else (), manifests=manifests)
    row = session.get(DataRequest, view.id)
    assert row is not None
    return _filed(row)


def _filed(row: DataRequest) -> FiledRequest:
    period = default_periods().of(row.kind)
    return FiledRequest(row.id, period.label, row.received_on, row.extended_due_on or row.due_on,
                        STATUS_LABELS.get(row.status, row.status), STATUS_EASY.get(row.status, ""), row.outcome_note,
                        period.article)


def filed_requests(session: Session, subject: Subject, person_id: str, *, relationship: str,
                   key: Ed25519PrivateKey | None = None) -> list[FiledRequest]:
    """The requests this guardian filed about this child, newest first."""
    _decide(session, subject, READ_ACTION, person_id, relationship, key)
    rows = session.scalars(select(DataRequest).where(DataRequest.person_id == person_id,
                                                     DataRequest.created_by == subject.user_id)
                           .order_by(DataRequest.id.desc()))
    return [_filed(r) for r in rows]
