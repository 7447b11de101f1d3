"""The envelope's guarantees, attacked directly: who signed, who can open, what cannot be re-addressed."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.public import PrivateKey, SealedBox

from tsunagu.handover import envelope
from tsunagu.handover.envelope import EnvelopeError, Header, Receipt

A_SIGN, B_SIGN = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
B_BOX, C_BOX = PrivateKey.generate(), PrivateKey.generate()
HEADER = Header("0" * 32, "case_transfer", "272205", "131016", "2026-12-03T09:00:00.000+00:00")
CONTENT = {"child": {"full_name": "佐藤　花子"}, "sections": {"summary": {"items": []}}}


def sealed(header: Header = HEADER, box: PrivateKey = B_BOX) -> bytes:
    return envelope.seal_package(header, CONTENT, b"%PDF-1.4 test", sign_key=A_SIGN, recipient_box=box.public_key)


def open_as_b(data: bytes) -> envelope.Opened:
    return envelope.open_package(data, own_code="131016", sender_key=A_SIGN.public_key(), box_key=B_BOX)


def code_of(data: bytes, **kwargs: object) -> str:
    with pytest.raises(EnvelopeError) as caught:
        envelope.open_package(data, **{"own_code": "131016", "sender_key": A_SIGN.public_key(), "box_key": B_BOX,
                                       **kwargs})  # type: ignore[arg-type]
    return caught.value.code


def test_the_addressee_opens_what_the_sender_signed() -> None:
    opened = open_as_b(sealed())
    assert opened.header == HEADER and opened.content == CONTENT and opened.pdf == b"%PDF-1.4 test"
    assert "佐藤" not in sealed().decode("utf-8")  # nothing of the child in the clear


def test_refusals_name_what_is_wrong() -> None:
    data = sealed()
    doc = json.loads(data)
    assert code_of(data, own_code="141003") == "wrong_recipient"
    assert code_of(data, sender_key=B_SIGN.public_key()) == "bad_signature"  # not from whom it claims
    for field, value in (("kind", "information_provision"), ("to", "131016"), ("package_id", "1" * 32)):
        changed = {**doc, field: value}
        if changed != doc:
            assert code_of(envelope.canonical(changed)) == "bad_signature", field
    raw = bytearray(base64.b64decode(doc["sealed"]))
    raw[40] ^= 1
    assert code_of(envelope.canonical({**doc, "sealed": base64.b64encode(bytes(raw)).decode()})) == "bad_signature"
    assert code_of(b"not json") == "malformed"
    # Signed properly but sealed to another key: the envelope verifies, the box does not open.
    assert code_of(sealed(box=C_BOX)) == "undecryptable"


def test_a_receiver_cannot_forward_a_package_as_the_senders_to_a_third_municipality() -> None:
    """B opens A's package and re-seals A's signed content to C: C must refuse it."""
    plaintext = SealedBox(B_BOX).decrypt(base64.b64decode(json.loads(sealed())["sealed"]))
    forwarded_sealed = SealedBox(C_BOX.public_key).encrypt(plaintext)
    outer = {"v": 1, "type": "package", **Header(HEADER.package_id, HEADER.kind, "272205", "141003",
                                                  HEADER.sent_at).as_dict(),
             "sealed": base64.b64encode(forwarded_sealed).decode()}
    # B cannot sign as A; signing the envelope with B's key and claiming A fails the outer check...
    outer["signature"] = envelope._sign(B_SIGN, envelope._outer_message(outer, envelope.sha256(forwarded_sealed)))
    with pytest.raises(EnvelopeError) as caught:
        envelope.open_package(envelope.canonical(outer), own_code="141003", sender_key=A_SIGN.public_key(),
                              box_key=C_BOX)
    assert caught.value.code == "bad_signature"
    # ...and even an outer signature by A's own key (a stolen or misused key) leaves the inner header naming B.
    outer["signature"] = envelope._sign(A_SIGN, envelope._outer_message(outer, envelope.sha256(forwarded_sealed)))
    with pytest.raises(EnvelopeError) as caught:
        envelope.open_package(envelope.canonical(outer), own_code="141003", sender_key=A_SIGN.public_key(),
                              box_key=C_BOX)
    assert caught.value.code == "header_mismatch"


def test_receipts_are_signed_over_every_field() -> None:
    receipt = Receipt("0" * 32, "accepted", "131016", "272205", "2026-12-04T10:00:00.000+00:00", "青木（みらい市）", True,
                      "f" * 64)
    data = envelope.sign_receipt(receipt, B_SIGN)
    parsed, doc = envelope.read_receipt(data)
    envelope.verify_receipt(doc, parsed, B_SIGN.public_key())
    forged, forged_doc = envelope.read_receipt(envelope.canonical({**doc, "by": "別の人"}))
    with pytest.raises(EnvelopeError):
        envelope.verify_receipt(forged_doc, forged, B_SIGN.public_key())
    with pytest.raises(EnvelopeError):
        envelope.verify_receipt(doc, parsed, A_SIGN.public_key())
    with pytest.raises(EnvelopeError):
        envelope.read_receipt(envelope.canonical({**doc, "status": "closed"}))
