"""The receiving API's checks one by one: who may send, when, and only once."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.public import PrivateKey

from handover.packages import ADMIN, PEER, content_for
from support.hubs import nodes_of
from tsunagu.handover import directory, envelope, transport
from tsunagu.handover.api import create_api
from tsunagu.handover.keys import Identity, load_identity
from tsunagu.handover.models import HandoverPackage
from tsunagu.handover.pdf import render_pdf
from tsunagu.vault.http import signing
from tsunagu.vault.topology import close_nodes
from work.builders import Home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 in its test client; httpx is what we have
    from fastapi.testclient import TestClient

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def headers(body: bytes, *, to: str, at: datetime = NOW, nonce: str = "cd" * 16, path: str = "packages",
            sender: str = PEER.code) -> dict[str, str]:
    stamp, digest = signing.utc_timestamp(at), signing.body_sha256(body)
    return {transport.H_FROM: sender, transport.H_TO: to, transport.H_TIMESTAMP: stamp, transport.H_NONCE: nonce,
            transport.H_DIGEST: digest,
            transport.H_SIGNATURE: signing.sign(PEER.sign_key, transport.request_message(path, to, sender, stamp, nonce,
                                                                                        digest))}


def refused(home: Home, body: bytes, head: dict[str, str], path: str = "packages") -> str:
    own = load_identity(home.settings)
    with home.factory.begin() as session, pytest.raises(transport.Refusal) as caught:
        transport.authenticate(session, path, own.code, body, head, NOW)
    return caught.value.code


def test_each_check_refuses_with_its_own_reason(home: Home) -> None:
    own = load_identity(home.settings)
    body = b'{"v":1}'
    assert refused(home, body, headers(body, to=own.code)) == "unknown_sender"
    with home.factory.begin() as session:
        directory.register(session, ADMIN, directory.own_card(PEER, None), own_code=own.code)
    good = headers(body, to=own.code)
    assert refused(home, body, {k: v for k, v in good.items() if k != transport.H_SIGNATURE}) == "bad_signature"
    assert refused(home, b'{"v":2}', good) == "bad_signature"  # the body is not the one signed
    assert refused(home, body, good, path="receipts") == "bad_signature"  # signed for the other endpoint
    assert refused(home, body, headers(body, to="141003")) == "wrong_recipient"
    assert refused(home, body, headers(body, to=own.code, at=NOW - timedelta(seconds=301))) == "stale"
    with home.factory.begin() as session:
        assert transport.authenticate(session, "packages", own.code, body, good, NOW).code == PEER.code
    # A new transaction (as after a restart, or in another worker) still knows the nonce.
    assert refused(home, body, good) == "replay"
    with home.factory.begin() as session:
        directory.deactivate(session, ADMIN, PEER.code)
    assert refused(home, body, headers(body, to=own.code, nonce="ef" * 16)) == "unknown_sender"


def test_a_package_relayed_by_another_registered_municipality_is_refused(home: Home) -> None:
    """Over HTTP the municipality that signs the request must be the one that signed the package."""
    own = load_identity(home.settings)
    relay = Identity("141003", "かなた市", Ed25519PrivateKey.generate(), PrivateKey.generate())
    with home.factory.begin() as session:
        for peer in (PEER, relay):
            directory.register(session, ADMIN, directory.own_card(peer, None), own_code=own.code)
    header = envelope.Header("b" * 32, "case_transfer", PEER.code, own.code, signing.utc_timestamp())
    content = content_for(PEER, own)
    body = envelope.seal_package(header, content, render_pdf(content), sign_key=PEER.sign_key,
                                 recipient_box=own.box_key.public_key)
    stamp, nonce, digest = signing.utc_timestamp(), "12" * 16, signing.body_sha256(body)
    signed = {transport.H_FROM: relay.code, transport.H_TO: own.code, transport.H_TIMESTAMP: stamp,
              transport.H_NONCE: nonce, transport.H_DIGEST: digest,
              transport.H_SIGNATURE: signing.sign(relay.sign_key, transport.request_message(
                  "packages", own.code, relay.code, stamp, nonce, digest))}
    nodes = nodes_of(home.settings)
    try:
        with TestClient(create_api(lambda: own, home.factory, lambda: nodes)) as client:
            answer = client.post("/v1/packages", content=body, headers=signed)
    finally:
        close_nodes(nodes)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "sender_mismatch"
    with home.factory() as session:
        assert session.get(HandoverPackage, "b" * 32) is None
