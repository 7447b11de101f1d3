"""The receiving side: verify and open a package, queue it, link the child to this register (or
hold it as a not-yet-registered arrival), answer with a signed receipt; later a named owner
accepts it, and the health records it carries join the child's record.

A refused package (unknown sender, bad signature, not for us, undecryptable, re-sealed forward,
a package id already received) leaves an event and an audit entry and no package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.handover import envelope
from tsunagu.handover.directory import trusted
from tsunagu.handover.keys import Identity, parse_sign_key
from tsunagu.handover.legal import kind_label
from tsunagu.handover.models import CarriedHealthRecord, HandoverPackage, HandoverTask
from tsunagu.handover.records import record, via_label
from tsunagu.ingest.normalize.names import name_key
from tsunagu.ingest.normalize.readings import reading_key
from tsunagu.link.models import Person, PersonLink
from tsunagu.privacy import Subject
from tsunagu.privacy.policy import policy_of
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.work.access import guard
from tsunagu.work.errors import Invalid, NotFound
from tsunagu.work.models import User

PURPOSE = "handover"
SPINE = "juki_jumin"
HEALTH_SECTIONS = ("health_checkups", "vaccinations")
SEXES = {"男": "M", "女": "F"}  # a package written by hand or another system may spell it out
RECEIVED_STATUS_LABELS = {"received": "受領（受理待ち）", "accepted": "受理済み"}


@dataclass(frozen=True)
class Received:
    package: HandoverPackage | None
    receipt: bytes | None
    refusal: envelope.EnvelopeError | None


def _match(nodes: Mapping[str, Node], child: Mapping[str, Any], session: Session) -> str | None:
    """The one registered person with this birth date, sex and name (or reading); None if not exactly one."""
    node = nodes.get("resident_registry")
    birth = child.get("birth_date")
    if node is None or not birth:
        return None
    request = NodeRequest("hub:handover:intake", "system", PURPOSE,
                          fields=("full_name", "reading", "birth_date", "sex"))
    try:
        frame = node.identifiers(request).data
    except NodeRefusedError:
        return None
    frame = frame.filter((pl.col("source") == SPINE) & (pl.col("birth_date") == date.fromisoformat(str(birth))))
    sex = SEXES.get(str(child.get("sex") or ""), str(child.get("sex") or ""))
    if sex:
        frame = frame.filter(pl.col("sex") == sex)
    names, readings = name_key(str(child.get("full_name", ""))), reading_key(str(child.get("reading", "")))
    local_ids = [row["local_id"] for row in frame.iter_rows(named=True)
                 if (names and name_key(row["full_name"] or "") == names)
                 or (readings and reading_key(row["reading"] or "") == readings)]
    persons = set(session.scalars(select(PersonLink.person_id).where(PersonLink.source == SPINE,
                                                                     PersonLink.local_id.in_(local_ids))))
    return persons.pop() if len(persons) == 1 else None


def receive(session: Session, data: bytes, *, identity: Identity, nodes: Mapping[str, Node], via: str,
            key: Ed25519PrivateKey | None = None, now: datetime | None = None,
            transport_sender: str | None = None) -> Received:
    """Take a package; a refusal is recorded (commit!) and returned, never raised.

    Over HTTP the municipality that signed the request must be the one that signed the package:
    another registered municipality relaying it is refused (a file may travel through any mailbox).
    """
    at = now or datetime.now(UTC)
    claimed = ""
    try:
        header, _outer = envelope.read_header(data)
        claimed = header.sender
        if transport_sender is not None and transport_sender != header.sender:
            raise envelope.EnvelopeError("sender_mismatch", f"送付した自治体（{transport_sender}）とパッケージの送付元"
                                                            f"（{header.sender}）が違います / relayed package")
        peer = trusted(session, header.sender)
        if peer is None:
            raise envelope.EnvelopeError("unknown_sender", f"登録されていない自治体からのパッケージです: {header.sender}")
        opened = envelope.open_package(data, own_code=identity.code, sender_key=parse_sign_key(peer.sign_key),
                                       box_key=identity.box_key)
        if session.get(HandoverPackage, header.package_id) is not None:
            raise envelope.EnvelopeError("duplicate", "このパッケージは既に受領しています（再送として拒否） / package "
                                                      "already received")
    except envelope.EnvelopeError as exc:
        record(session, "refused", f"{exc.code}: {exc.message}（{via_label(via)}、送付元の申告 {claimed or '不明'}）",
               outcome="refused", peer_code=claimed or None, audit_action="handover.receive", key=key, now=at)
        return Received(None, None, exc)
    person_id = _match(nodes, opened.content.get("child", {}), session)
    package = HandoverPackage(
        package_id=header.package_id, direction="received", kind=header.kind, peer_code=peer.code,
        person_id=person_id, status="received", created_at=at, created_by="hub:handover:intake",
        received_at=at, envelope=data, envelope_sha256=envelope.sha256(data))
    session.add(package)
    record(session, "received", f"{peer.name}から{kind_label(header.kind)}を受領（{via_label(via)}）", package_id=package.package_id,
           peer_code=peer.code, person_id=person_id, audit_action="handover.receive", key=key, now=at)
    if person_id is not None:
        record(session, "linked", f"住民記録の {person_id} と照合しました（生年月日・性別・氏名またはよみ）",
               package_id=package.package_id, peer_code=peer.code, now=at)
    else:
        record(session, "unregistered", "住民記録に一致する子どもがいません（転入の届出前）。未登録の転入者として保留します",
               package_id=package.package_id, peer_code=peer.code, now=at)
    receipt = _receipt(package, identity, "received", "", at)
    session.flush()
    return Received(package, receipt, None)


def _receipt(package: HandoverPackage, identity: Identity, status: str, by: str, at: datetime) -> bytes:
    data = envelope.sign_receipt(envelope.Receipt(
        package.package_id, status, identity.code, package.peer_code, envelope.iso(at), by,
        package.person_id is not None, package.envelope_sha256), identity.sign_key)
    package.last_receipt = data.decode("utf-8")
    return data


def received_package(session: Session, package_id: str) -> HandoverPackage:
    row = session.get(HandoverPackage, package_id)
    if row is None or row.direction != "received":
        raise NotFound(f"受領したパッケージ {package_id} はありません。")
    return row


def open_received(row: HandoverPackage, identity: Identity, session: Session) -> envelope.Opened:
    peer = trusted(session, row.peer_code)
    if peer is None:
        raise Invalid(f"送付元 {row.peer_code} の登録が無効になっているため、内容を確認できません。")
    return envelope.open_package(row.envelope, own_code=identity.code, sender_key=parse_sign_key(peer.sign_key),
                                 box_key=identity.box_key)


def link(session: Session, subject: Subject, package_id: str, person_id: str, *,
         key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> HandoverPackage:
    """A person links a held arrival to the register once the family has registered."""
    row = received_package(session, package_id)
    if row.person_id is not None and row.person_id != person_id:
        raise Invalid(f"このパッケージは既に {row.person_id} と照合されています。")
    if session.get(Person, person_id) is None:
        raise NotFound(f"個人ID {person_id} の子どもはいません。")
    guard(session, subject, "handover.intake", PURPOSE, person_id, key=key)
    if row.person_id == person_id:
        return row  # already this child: nothing to change (the look was recorded)
    row.person_id = person_id
    record(session, "linked", f"職員が住民記録の {person_id} と照合しました", package_id=row.package_id,
           peer_code=row.peer_code, actor=subject.user_id, now=now)
    return row


def accept(session: Session, subject: Subject, package_id: str, *, identity: Identity,
           key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> tuple[HandoverPackage, bytes]:
    """受理: the named owner takes the package over; returns the signed acceptance receipt to deliver."""
    row = received_package(session, package_id)
    if row.person_id is None:
        raise Invalid("未登録の転入者です。住民記録と照合してから受理してください。")
    if row.status == "accepted":
        raise Invalid("このパッケージは既に受理されています。")
    guard(session, subject, "handover.intake", PURPOSE, row.person_id, key=key)
    at = now or datetime.now(UTC)
    opened = open_received(row, identity, session)
    user = session.get(User, subject.user_id)
    owner = f"{user.display_name if user is not None else subject.user_id}（{identity.name}）"
    row.status, row.accepted_at, row.accepted_by = "accepted", at, owner
    peer = trusted(session, row.peer_code)
    from_name = peer.name if peer is not None else row.peer_code
    for section in HEALTH_SECTIONS:
        for item in opened.content.get("sections", {}).get(section, []):
            observed = item.get("observed_on")
            session.add(CarriedHealthRecord(
                person_id=row.person_id, package_id=row.package_id, from_code=row.peer_code, from_name=from_name,
                section=section, item_id=str(item["item_id"])[:64], label=str(item["label"])[:100],
                value=str(item["value"])[:200], observed_on=date.fromisoformat(observed) if observed else None,
                accepted_at=at))
    for waiting in session.scalars(select(HandoverTask).where(HandoverTask.person_id == row.person_id,
                                                              HandoverTask.direction == "in",
                                                              HandoverTask.status != "closed")):
        waiting.status, waiting.closed_at = "closed", at
        waiting.closed_reason = f"{from_name}からの{kind_label(row.kind)}を受理"
    record(session, "accepted", f"{owner}が受理しました", package_id=row.package_id, peer_code=row.peer_code,
           actor=subject.user_id, now=at)
    return row, _receipt(row, identity, "accepted", owner, at)


def carried_health(session: Session, person_id: str) -> list[CarriedHealthRecord]:
    return list(session.scalars(select(CarriedHealthRecord).where(CarriedHealthRecord.person_id == person_id)
                                .order_by(CarriedHealthRecord.section, CarriedHealthRecord.observed_on)))


def carried_for_page(session: Session, subject: Subject, purpose: str, person_id: str, relationship: str, *,
                     key: Ed25519PrivateKey | None = None) -> list[CarriedHealthRecord]:
    """The previous municipality's records for the child's page: read (and recorded) only when the
    reader may read the maternal-and-child-health items they are, for this purpose."""
    if not policy_of(session).allows(subject, "child.items.read", purpose, relationship=relationship, sensitivity=2,
                  holder="maternal_child_health"):
        return []
    rows = carried_health(session, person_id)
    if rows:
        guard(session, subject, "child.items.read", purpose, person_id, items=tuple(sorted({r.item_id for r in rows})),
              holder="maternal_child_health", key=key)
    return rows
