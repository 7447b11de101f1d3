"""The receiving side's hub work on PostgreSQL: nonces (savepoint and unique key), intake, duplicates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.public import PrivateKey

from handover.packages import ADMIN, PEER, content_for
from tsunagu.handover import directory, envelope, inbox, outbox, transport
from tsunagu.handover.keys import Identity
from tsunagu.handover.models import HandoverPackage
from tsunagu.handover.pdf import render_pdf
from tsunagu.hub import Hub
from tsunagu.vault.http import signing

OWN = Identity("272205", "つなぐ市", Ed25519PrivateKey.generate(), PrivateKey.generate())
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.postgres
def test_intake_replay_and_escalation_on_postgres(postgres_hub: Hub) -> None:
    factory = postgres_hub.sessions  # a database of its own, dropped afterwards
    package_id = "c" * 32
    with factory.begin() as session:
        directory.register(session, ADMIN, directory.own_card(PEER, None), own_code=OWN.code)
    body = b"{}"
    stamp, nonce, digest = signing.utc_timestamp(NOW), "9f" * 16, signing.body_sha256(body)
    head = {transport.H_FROM: PEER.code, transport.H_TO: OWN.code, transport.H_TIMESTAMP: stamp,
            transport.H_NONCE: nonce, transport.H_DIGEST: digest,
            transport.H_SIGNATURE: signing.sign(PEER.sign_key, transport.request_message(
                "packages", OWN.code, PEER.code, stamp, nonce, digest))}
    with factory.begin() as session:
        assert transport.authenticate(session, "packages", OWN.code, body, head, NOW).code == PEER.code
    with factory.begin() as session, pytest.raises(transport.Refusal) as caught:
        transport.authenticate(session, "packages", OWN.code, body, head, NOW)
    assert caught.value.code == "replay"

    content = content_for(PEER, OWN)
    data = envelope.seal_package(envelope.Header(package_id, "case_transfer", PEER.code, OWN.code, stamp), content,
                                 render_pdf(content), sign_key=PEER.sign_key, recipient_box=OWN.box_key.public_key)
    with factory.begin() as session:
        received = inbox.receive(session, data, identity=OWN, nodes={}, via="file", now=NOW)
        assert received.package is not None and received.package.person_id is None  # held: not registered here
    with factory.begin() as session:
        assert inbox.receive(session, data, identity=OWN, nodes={}, via="file").refusal is not None
    with factory.begin() as session:
        row = session.get(HandoverPackage, package_id)
        assert row is not None
        row.direction, row.status, row.due_on = "sent", "sent", date(2026, 12, 10)  # as if this side had sent it
    with factory.begin() as session:
        assert outbox.escalate_overdue(session, date(2026, 12, 10), now=NOW) == [package_id]
