"""The steps a person (or the receiving API) runs, each in its own transaction around the network.

Nothing is sent while a hub transaction is open: the package is sealed and committed first, then
delivered, then the outcome is recorded. A refusal by the other side is recorded here as well, so
both municipalities hold the evidence.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.handover import envelope, inbox, outbox, transport
from tsunagu.handover.directory import trusted
from tsunagu.handover.keys import Identity
from tsunagu.handover.models import TrustedMunicipality
from tsunagu.handover.records import record
from tsunagu.privacy import NoteCipher, Subject
from tsunagu.vault.node import Node
from tsunagu.work.access import guard
from tsunagu.work.errors import Invalid
from tsunagu.work.unit import unit_of_work

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Delivery:
    package_id: str
    status: str  # the package's status after delivery
    via: str
    detail: str
    ok: bool


def write_file(path: Path, data: bytes) -> None:
    """A package or receipt file for LGWAN mail: readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _error_text(body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")


def send(factory: sessionmaker[Session], subject: Subject, task_id: int, *, kind: str, recipient: str,
         identity: Identity, nodes: Mapping[str, Node], cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
         file: Path | None = None, now: Clock | None = None) -> Delivery:
    """Seal a package for the task and deliver it: over HTTP, or as ``file`` for LGWAN mail."""
    with unit_of_work(factory) as session:
        package = outbox.prepare(session, subject, task_id, kind=kind, recipient=recipient, identity=identity,
                                 nodes=nodes, cipher=cipher, key=key, now=now() if now else None)
        package_id = package.package_id
    return deliver(factory, subject, package_id, identity=identity, key=key, file=file, now=now)


def deliver(factory: sessionmaker[Session], subject: Subject, package_id: str, *, identity: Identity,
            key: Ed25519PrivateKey | None = None, file: Path | None = None, now: Clock | None = None) -> Delivery:
    with unit_of_work(factory) as session:
        package = outbox.sent_package(session, package_id)
        if package.status != "sealed":
            raise Invalid("このパッケージは既に送付されています。")
        if package.person_id is not None:  # sending this child's package is the person's act: decided, recorded
            guard(session, subject, "handover.send", "handover", package.person_id, sensitivity=1, key=key)
        data, peer = package.envelope, trusted(session, package.peer_code)
        if peer is None:
            raise Invalid(f"送付先の自治体 {package.peer_code} の登録が無効です。")
        session.expunge(peer)
    if file is not None:
        write_file(file, data)
        with unit_of_work(factory) as session:
            row = outbox.mark_sent(session, package_id, "file", actor=subject.user_id, key=key,
                                   now=now() if now else None)
            return Delivery(package_id, row.status, "file", str(file), True)
    try:
        answer = transport.post(peer, "packages", data, identity, now=now() if now else None)
    except transport.TransportError as exc:
        with unit_of_work(factory) as session:
            outbox.send_failed(session, package_id, str(exc), actor=subject.user_id)
        return Delivery(package_id, "sealed", "http", str(exc), False)
    with unit_of_work(factory) as session:
        if answer.status != 200:
            reason = f"{peer.name}が受付を拒否しました（HTTP {answer.status}）: {_error_text(answer.body)}"
            record(session, "refused", reason, outcome="refused", package_id=package_id, peer_code=peer.code,
                   actor=subject.user_id, person_id=outbox.sent_package(session, package_id).person_id,
                   audit_action="handover.deliver", key=key)
            return Delivery(package_id, "sealed", "http", reason, False)
        outbox.mark_sent(session, package_id, "http", actor=subject.user_id, key=key, now=now() if now else None)
    return take_receipt(factory, answer.body, identity=identity, via="http", key=key, now=now, package_id=package_id)


def take_receipt(factory: sessionmaker[Session], data: bytes, *, identity: Identity, via: str,
                 key: Ed25519PrivateKey | None = None, now: Clock | None = None, package_id: str = "") -> Delivery:
    with unit_of_work(factory) as session:
        try:
            row = outbox.take_receipt(session, data, identity=identity, via=via, key=key, now=now() if now else None)
        except envelope.EnvelopeError as exc:
            return Delivery(package_id, "", via, exc.message, False)
        return Delivery(row.package_id, row.status, via, row.accepted_by or "", True)


def accept(factory: sessionmaker[Session], subject: Subject, package_id: str, *, identity: Identity,
           key: Ed25519PrivateKey | None = None, file: Path | None = None, now: Clock | None = None) -> Delivery:
    """受理, then the signed acceptance goes back: over HTTP when the sender has an endpoint, else ``file``."""
    with unit_of_work(factory) as session:
        row, receipt = inbox.accept(session, subject, package_id, identity=identity, key=key,
                                    now=now() if now else None)
        peer = trusted(session, row.peer_code)
        if peer is not None:
            session.expunge(peer)
    return _return_receipt(factory, package_id, receipt, peer, identity, file, subject.user_id)


def _return_receipt(factory: sessionmaker[Session], package_id: str, receipt: bytes,
                    peer: TrustedMunicipality | None, identity: Identity, file: Path | None, actor: str) -> Delivery:
    if file is not None or peer is None or peer.endpoint is None:
        if file is None:
            return Delivery(package_id, "accepted", "none", "送付元に窓口URLがありません。--file で受領通知を書き出してください",
                            False)
        write_file(file, receipt)
        with unit_of_work(factory) as session:
            record(session, "receipt_sent", f"受理の通知をファイルに書き出しました（{file.name}）", package_id=package_id,
                   actor=actor)
        return Delivery(package_id, "accepted", "file", str(file), True)
    try:
        answer = transport.post(peer, "receipts", receipt, identity)
        ok, detail = answer.status == 200, "" if answer.status == 200 else _error_text(answer.body)
    except transport.TransportError as exc:
        ok, detail = False, str(exc)
    with unit_of_work(factory) as session:
        record(session, "receipt_sent", f"受理の通知を{peer.name}へ送付" + ("" if ok else f"できませんでした: {detail}"),
               outcome="ok" if ok else "error", package_id=package_id, peer_code=peer.code, actor=actor)
    return Delivery(package_id, "accepted", "http", detail, ok)
