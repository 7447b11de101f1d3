"""The sending side: prepare a package for a task, deliver it (HTTP or a file for LGWAN mail),
take the receiver's signed receipts, and escalate what is overdue.

States of a sent package: sealed → sent → received → accepted (by a named owner on the other
side). The task closes when the package reaches what its kind requires (``closes_on``: a case
transfer only on acceptance — the sending side keeps the case until then — an information
provision on receipt). A task or a package past its due date without that is escalated.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.handover import contents, envelope
from tsunagu.handover.directory import trusted
from tsunagu.handover.keys import Identity, parse_box_key, parse_sign_key
from tsunagu.handover.legal import KINDS, package_kinds, receipt_due
from tsunagu.handover.models import HandoverPackage, HandoverTask
from tsunagu.handover.records import record, via_label
from tsunagu.privacy import NoteCipher, Subject
from tsunagu.privacy.policy import policy_of
from tsunagu.vault.node import Node
from tsunagu.work.access import guard
from tsunagu.work.errors import Invalid, NotFound
from tsunagu.work.models import User

PURPOSE = "handover"
SENT_STATUS_LABELS = {"sealed": "作成済み・未送付", "sent": "送付済み・受領待ち", "received": "相手が受領",
                      "accepted": "相手が受理"}


def task(session: Session, task_id: int) -> HandoverTask:
    row = session.get(HandoverTask, task_id)
    if row is None:
        raise NotFound(f"引継ぎの課題 {task_id} はありません。")
    return row


def _prepared_by(session: Session, subject: Subject) -> dict[str, str]:
    user = session.get(User, subject.user_id)
    role = policy_of(session).roles.get(subject.role)
    return {"user_id": subject.user_id, "name": user.display_name if user is not None else subject.user_id,
            "role": role.label if role is not None else subject.role, "organisation": subject.organisation}


def prepare(session: Session, subject: Subject, task_id: int, *, kind: str, recipient: str, identity: Identity,
            nodes: Mapping[str, Node], cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
            now: datetime | None = None) -> HandoverPackage:
    """Seal a package for an open move-out task: decided and recorded as the child's ``handover.send``."""
    row = task(session, task_id)
    if row.direction != "out" or row.status == "closed":
        raise Invalid("この課題からは送付できません（転出の未完了の課題だけが対象です）。")
    if kind not in KINDS:
        raise Invalid("ケース移管か情報提供かを選んでください。")
    current = session.get(HandoverPackage, row.package_id) if row.package_id else None
    if current is not None and current.status in ("received", "accepted"):
        raise Invalid("この課題のパッケージは既に相手の自治体が受領しています。受理を待つか、相手先に確認してください。")
    peer = trusted(session, recipient)
    if peer is None:
        raise Invalid(f"送付先の自治体 {recipient} は登録されていません（信頼する自治体に登録してください）。")
    spec = package_kinds().of(kind)
    guard(session, subject, "handover.send", PURPOSE, row.person_id, items=contents.items_for(spec), key=key)
    at = now or datetime.now(UTC)
    content = contents.build(
        session, row.person_id, kind, nodes=nodes, cipher=cipher,
        sender={"code": identity.code, "name": identity.name}, recipient={"code": peer.code, "name": peer.name},
        prepared_by=_prepared_by(session, subject), moved_on=row.moved_on, reasons=json.loads(row.reasons_json),
        role=subject.role, now=at)
    header = envelope.Header(uuid.uuid4().hex, kind, identity.code, peer.code, envelope.iso(at))
    from tsunagu.handover.pdf import render_pdf  # reportlab only when a package is made, not at every command's start

    sealed = envelope.seal_package(header, content, render_pdf(content), sign_key=identity.sign_key,
                                   recipient_box=parse_box_key(peer.box_key))
    package = HandoverPackage(
        package_id=header.package_id, direction="sent", kind=kind, peer_code=peer.code, person_id=row.person_id,
        task_id=row.id, status="sealed", created_at=at, created_by=subject.user_id, envelope=sealed,
        envelope_sha256=envelope.sha256(sealed))
    session.add(package)
    row.package_id = header.package_id
    record(session, "prepared", f"{spec.label}を作成（{peer.name}宛て、{len(sealed):,}バイト、署名・暗号化済み）",
           package_id=header.package_id, task_id=row.id, peer_code=peer.code, actor=subject.user_id, now=at)
    session.flush()
    return package


def sent_package(session: Session, package_id: str) -> HandoverPackage:
    row = session.get(HandoverPackage, package_id)
    if row is None or row.direction != "sent":
        raise NotFound(f"送付したパッケージ {package_id} はありません。")
    return row


def mark_sent(session: Session, package_id: str, via: str, *, actor: str, key: Ed25519PrivateKey | None = None,
              now: datetime | None = None) -> HandoverPackage:
    """The package has left (HTTP answered, or the file was written for LGWAN mail)."""
    row = sent_package(session, package_id)
    at = now or datetime.now(UTC)
    if row.sent_at is None:
        row.sent_at = at
        row.due_on = receipt_due(at.date(), row.kind)
    if row.status == "sealed":
        row.status = "sent"
    if row.task_id is not None:
        owner = session.get(HandoverTask, row.task_id)
        if owner is not None and owner.status in ("open", "escalated"):
            owner.status = "sent"
    peer = trusted(session, row.peer_code)
    record(session, "sent", f"{via_label(via)}で{peer.name if peer else row.peer_code}"
           f"へ送付。受領の期限 {row.due_on.isoformat() if row.due_on else ''}", package_id=row.package_id,
           task_id=row.task_id, peer_code=row.peer_code, actor=actor, person_id=row.person_id,
           audit_action="handover.deliver", key=key, now=at)
    return row


def send_failed(session: Session, package_id: str, reason: str, *, actor: str, now: datetime | None = None) -> None:
    row = sent_package(session, package_id)
    record(session, "send_failed", reason, outcome="error", package_id=row.package_id, task_id=row.task_id,
           peer_code=row.peer_code, actor=actor, now=now)


RANK = {"sealed": 0, "sent": 1, "received": 2, "accepted": 3}


def take_receipt(session: Session, data: bytes, *, identity: Identity, via: str, key: Ed25519PrivateKey | None = None,
                 now: datetime | None = None, transport_sender: str | None = None) -> HandoverPackage:
    """Verify and record a receipt; a refusal is recorded (the caller commits) and raised."""
    at = now or datetime.now(UTC)
    claimed = ""
    try:
        receipt, doc = envelope.read_receipt(data)
        claimed = receipt.sender
        if transport_sender is not None and transport_sender != receipt.sender:
            raise envelope.EnvelopeError("sender_mismatch", f"通知を送った自治体（{transport_sender}）と通知の発行元"
                                                            f"（{receipt.sender}）が違います")
        peer = trusted(session, receipt.sender)
        if peer is None:
            raise envelope.EnvelopeError("unknown_sender", f"登録されていない自治体の受領通知です: {receipt.sender}")
        envelope.verify_receipt(doc, receipt, parse_sign_key(peer.sign_key))
        if receipt.recipient != identity.code:
            raise envelope.EnvelopeError("wrong_recipient", f"宛先が違う受領通知です（{receipt.recipient} 宛て）")
        row = session.get(HandoverPackage, receipt.package_id)
        if row is None or row.direction != "sent" or row.peer_code != peer.code:
            raise envelope.EnvelopeError("unknown_package", "この自治体が送ったパッケージの受領通知ではありません")
        if receipt.envelope_sha256 != row.envelope_sha256:
            raise envelope.EnvelopeError("digest_mismatch", "受領通知のハッシュが送付したパッケージと一致しません")
        if RANK[receipt.status] <= RANK[row.status]:
            raise envelope.EnvelopeError("duplicate", f"同じ受領通知が既に記録されています（{receipt.status}）")
    except envelope.EnvelopeError as exc:
        record(session, "receipt_refused", f"{exc.code}: {exc.message}（{via_label(via)}）", outcome="refused",
               peer_code=claimed or None, audit_action="handover.receipt", key=key, now=at)
        raise
    _apply(session, row, receipt, data, peer.name, via, key, at)
    return row


def _apply(session: Session, row: HandoverPackage, receipt: envelope.Receipt, data: bytes, peer_name: str, via: str,
           key: Ed25519PrivateKey | None, at: datetime) -> None:
    if row.sent_at is None:  # a file whose sending was not recorded: the receipt proves it left
        row.sent_at = at
    if row.received_at is None:
        row.received_at = at
    row.status = receipt.status
    row.last_receipt = data.decode("utf-8")
    what = "受領" if receipt.status == "received" else f"受理（担当: {receipt.by}）"
    if receipt.status == "accepted":
        row.accepted_at, row.accepted_by = at, receipt.by
    record(session, "receipt", f"{peer_name}が{what}（{receipt.at}、{via_label(via)}）"
           + ("。住民記録と照合済み" if receipt.linked else "。転入の届出前（未登録の転入者として保留）"),
           package_id=row.package_id, task_id=row.task_id, peer_code=row.peer_code, person_id=row.person_id,
           audit_action="handover.receipt", key=key, now=at)
    closes = package_kinds().of(row.kind).closes_on
    owner = session.get(HandoverTask, row.task_id) if row.task_id is not None else None
    if owner is not None and owner.status == "escalated":
        owner.status = "sent"  # what was overdue (the receipt) has come; acceptance is the other side's step
    if owner is not None and owner.status != "closed" and RANK[receipt.status] >= RANK[closes]:
        owner.status, owner.closed_at = "closed", at
        owner.closed_reason = f"{peer_name}が{what}"
        record(session, "closed", f"課題を完了: {owner.closed_reason}", task_id=owner.id, package_id=row.package_id,
               peer_code=row.peer_code, now=at)


def escalate_overdue(session: Session, today: date, *, key: Ed25519PrivateKey | None = None,
                     now: datetime | None = None) -> list[str]:
    """Escalate, on their due day, packages without the receipt they need and tasks not sent yet."""
    at = now or datetime.now(UTC)
    escalated: list[str] = []
    packages = session.scalars(select(HandoverPackage).where(
        HandoverPackage.direction == "sent", HandoverPackage.status == "sent", HandoverPackage.escalated_at.is_(None),
        HandoverPackage.due_on <= today))
    for row in packages:
        row.escalated_at = at
        owner = session.get(HandoverTask, row.task_id) if row.task_id is not None else None
        if owner is not None and owner.status != "closed":
            owner.status = "escalated"
        record(session, "escalated", f"受領の期限（{row.due_on}）を過ぎても受領通知がありません。相手先に電話等で確認してください",
               outcome="error", package_id=row.package_id, task_id=row.task_id, peer_code=row.peer_code,
               person_id=row.person_id, audit_action="handover.escalate", key=key, now=at)
        escalated.append(row.package_id)
    tasks = session.scalars(select(HandoverTask).where(HandoverTask.status == "open", HandoverTask.due_on <= today))
    for item in tasks:
        item.status = "escalated"
        what = "送付" if item.direction == "out" else "前住所地への照会"
        record(session, "escalated", f"{what}の期限（{item.due_on}）を過ぎています", outcome="error", task_id=item.id,
               person_id=item.person_id, audit_action="handover.escalate", key=key, now=at)
        escalated.append(f"task:{item.id}")
    session.flush()
    return escalated
