"""The receiving API's checks one by one: who may send, when, and only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handover.packages import ADMIN, PEER
from tsunagu.handover import directory, transport
from tsunagu.handover.keys import load_identity
from tsunagu.vault.http import signing
from work.builders import Home

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
