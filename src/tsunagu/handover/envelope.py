"""Packages and receipts on the wire: signed by the sender (Ed25519), sealed to the receiver
(libsodium sealed boxes through PyNaCl). No cryptography of our own: only how the pieces are put
together, which is what this module's tests attack.

A package is signed twice. The *inner* signature covers the content together with its header —
sender, receiver, package id, kind — and travels inside the sealed box, so a receiver that
decrypts a package cannot re-seal it to a third municipality and pass it off as the sender's
(the receiver's code is under the sender's signature). The *outer* signature covers the
envelope (header and the sealed bytes' digest), so a receiver refuses a forged or altered
envelope, or one meant for someone else, before it decrypts anything.

A receipt is a small signed JSON document; its signature covers every field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from tsunagu.errors import InputError
from tsunagu.vault.http import signing

PROTOCOL = "tsunagu-handover-v1"
MAX_ENVELOPE_BYTES = 16 << 20
RECEIPT_STATUSES = ("received", "accepted")


class EnvelopeError(InputError, ValueError):
    """A package or receipt is refused; ``code`` is stable (``malformed``, ``bad_signature`` …: the
    receiving API's error code), the message Japanese (and English). Nothing was changed but the record."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _lines(*parts: str) -> bytes:
    return "\n".join((PROTOCOL, *parts)).encode("utf-8")


def _sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return signing.sign(key, message)


@dataclass(frozen=True)
class Header:
    package_id: str
    kind: str
    sender: str  # 地方公共団体コード
    recipient: str
    sent_at: str  # ISO 8601 with offset

    def as_dict(self) -> dict[str, str]:
        return {"package_id": self.package_id, "kind": self.kind, "from": self.sender, "to": self.recipient,
                "sent_at": self.sent_at}


def seal_package(header: Header, content: dict[str, Any], pdf: bytes, *, sign_key: Ed25519PrivateKey,
                 recipient_box: PublicKey) -> bytes:
    """The envelope (JSON bytes) of a package for ``header.recipient``."""
    inner = canonical({"header": header.as_dict(), "content": content, "pdf": base64.b64encode(pdf).decode("ascii")})
    inner_signature = _sign(sign_key, _lines("inner", sha256(inner)))
    plaintext = canonical({"inner": base64.b64encode(inner).decode("ascii"), "signature": inner_signature})
    sealed = SealedBox(recipient_box).encrypt(plaintext)
    outer = {"v": 1, "type": "package", **header.as_dict(), "sealed": base64.b64encode(sealed).decode("ascii")}
    outer["signature"] = _sign(sign_key, _outer_message(outer, sha256(sealed)))
    return canonical(outer)


def _outer_message(outer: dict[str, Any], sealed_digest: str) -> bytes:
    return _lines("envelope", str(outer["from"]), str(outer["to"]), str(outer["package_id"]), str(outer["kind"]),
                  str(outer["sent_at"]), sealed_digest)


def _load_json(data: bytes, what: str) -> dict[str, Any]:
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError("too_large", f"{what}が大きすぎます / {what} too large")
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError("malformed", f"{what}の形式が不正です（JSONではありません） / malformed {what}") from exc
    if not isinstance(value, dict):
        raise EnvelopeError("malformed", f"{what}の形式が不正です / malformed {what}")
    return value


def _text(value: dict[str, Any], key: str, what: str) -> str:
    found = value.get(key)
    if not isinstance(found, str) or not found:
        raise EnvelopeError("malformed", f"{what}に {key} がありません / {what} lacks {key}")
    return found


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError("malformed", f"{what}が base64 ではありません / {what} is not base64") from exc


def read_header(envelope: bytes) -> tuple[Header, dict[str, Any]]:
    """The envelope's claimed header, unverified: whom it says it is from and for."""
    outer = _load_json(envelope, "パッケージ")
    if outer.get("v") != 1 or outer.get("type") != "package":
        raise EnvelopeError("malformed", "つなぐの引継ぎパッケージ（v1）ではありません / not a tsunagu hand-over package")
    header = Header(*(_text(outer, k, "パッケージ") for k in ("package_id", "kind", "from", "to", "sent_at")))
    return header, outer


@dataclass(frozen=True)
class Opened:
    header: Header
    content: dict[str, Any]
    pdf: bytes


def open_package(envelope: bytes, *, own_code: str, sender_key: Ed25519PublicKey, box_key: PrivateKey) -> Opened:
    """Verify, then decrypt, then verify again; any failure raises EnvelopeError naming it."""
    header, outer = read_header(envelope)
    if header.recipient != own_code:
        raise EnvelopeError("wrong_recipient", f"宛先が違います（{header.recipient} 宛て） / addressed to {header.recipient}")
    sealed = _b64(_text(outer, "sealed", "パッケージ"), "暗号文")
    if not signing.verify(sender_key, _text(outer, "signature", "パッケージ"), _outer_message(outer, sha256(sealed))):
        raise EnvelopeError("bad_signature", "送付元の署名を検証できません（改ざんまたは送付元の偽り） / envelope signature "
                                             "does not verify")
    try:
        plaintext = SealedBox(box_key).decrypt(sealed)
    except CryptoError as exc:
        raise EnvelopeError("undecryptable", "この自治体の鍵で復号できません / cannot decrypt with this municipality's key") from exc
    sealed_doc = _load_json(plaintext, "復号した内容")
    inner = _b64(_text(sealed_doc, "inner", "復号した内容"), "内容")
    if not signing.verify(sender_key, _text(sealed_doc, "signature", "復号した内容"), _lines("inner", sha256(inner))):
        raise EnvelopeError("bad_signature", "内容の署名を検証できません / inner signature does not verify")
    doc = _load_json(inner, "内容")
    if doc.get("header") != header.as_dict():
        # Signed by the sender, but for another package or another receiver: a re-sealed forward.
        raise EnvelopeError("header_mismatch", "内容の宛先・番号が封筒と一致しません（転送されたパッケージ） / inner header "
                                               "differs from the envelope")
    content = doc.get("content")
    if not isinstance(content, dict):
        raise EnvelopeError("malformed", "内容の形式が不正です / malformed content")
    return Opened(header, content, _b64(_text(doc, "pdf", "内容"), "PDF"))


# -- receipts ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receipt:
    package_id: str
    status: str  # received / accepted
    sender: str  # the receiver of the package, who issues the receipt
    recipient: str  # the package's sender
    at: str
    by: str  # the named owner who accepted (empty for received)
    linked: bool
    envelope_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"v": 1, "type": "receipt", "package_id": self.package_id, "status": self.status, "from": self.sender,
                "to": self.recipient, "at": self.at, "by": self.by, "linked": self.linked,
                "envelope_sha256": self.envelope_sha256}


def sign_receipt(receipt: Receipt, key: Ed25519PrivateKey) -> bytes:
    body = receipt.as_dict()
    return canonical({**body, "signature": _sign(key, _lines("receipt", sha256(canonical(body))))})


def read_receipt(data: bytes) -> tuple[Receipt, dict[str, Any]]:
    doc = _load_json(data, "受領通知")
    if doc.get("v") != 1 or doc.get("type") != "receipt":
        raise EnvelopeError("malformed", "つなぐの受領通知（v1）ではありません / not a tsunagu receipt")
    status = _text(doc, "status", "受領通知")
    if status not in RECEIPT_STATUSES:
        raise EnvelopeError("malformed", f"受領通知の状態が不正です: {status!r} / unknown receipt status")
    linked = doc.get("linked")
    by = doc.get("by")
    if not isinstance(linked, bool) or not isinstance(by, str):
        raise EnvelopeError("malformed", "受領通知の形式が不正です / malformed receipt")
    return Receipt(_text(doc, "package_id", "受領通知"), status, _text(doc, "from", "受領通知"),
                   _text(doc, "to", "受領通知"), _text(doc, "at", "受領通知"), by, linked,
                   _text(doc, "envelope_sha256", "受領通知")), doc


def verify_receipt(doc: dict[str, Any], receipt: Receipt, key: Ed25519PublicKey) -> None:
    signature = doc.get("signature")
    if not isinstance(signature, str) or not signing.verify(
            key, signature, _lines("receipt", sha256(canonical(receipt.as_dict())))):
        raise EnvelopeError("bad_signature", "受領通知の署名を検証できません / receipt signature does not verify")


def iso(moment: datetime) -> str:
    return signing.utc_timestamp(moment)
