"""A package from みらい市 already in a home's intake queue, and a move-out task, for page tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.public import PrivateKey

from support.hubs import nodes_of
from tsunagu.handover import directory, envelope, inbox
from tsunagu.handover.keys import Identity, load_identity
from tsunagu.handover.legal import SECTION_LABELS, package_kinds
from tsunagu.handover.models import HandoverPackage, HandoverTask
from tsunagu.handover.pdf import render_pdf
from tsunagu.privacy import Subject
from tsunagu.vault.topology import close_nodes
from work.builders import Home

PACKAGE_ID = "a" * 32  # received from みらい市, linked to P0002
SENT_ID = "d" * 32  # sent to みらい市 for P0002, waiting for its receipt
PEER = Identity("131016", "みらい市", Ed25519PrivateKey.generate(), PrivateKey.generate())
ADMIN = Subject("setup", "administrator", "cli")


def content_for(sender: Identity, recipient: Identity) -> dict[str, Any]:
    kind = package_kinds().of("case_transfer")
    return {
        "format": "tsunagu.handover/1", "kind": "case_transfer", "kind_label": kind.label,
        "from": {"code": sender.code, "name": sender.name}, "to": {"code": recipient.code, "name": recipient.name},
        "prepared_at": "2026-12-03T09:00:00+00:00",
        "prepared_by": {"user_id": "m1", "name": "森 センター", "role": "こども家庭センター職員", "organisation": "family_centre"},
        "legal": {"provision_basis": kind.provision_basis, "laws": list(kind.laws), "when": kind.when},
        "child": {"full_name": "佐藤　花子", "reading": "ｻﾄｳ ﾊﾅｺ", "birth_date": "2018-04-01", "sex": "女",
                  "address": "みらい市本町4丁目5番6号"},
        "move": {"moved_on": "2026-12-01", "reasons": ["open_case"]},
        "section_labels": [[s, SECTION_LABELS[s]] for s in kind.sections],
        "sections": {
            "summary": {"items": [{"item_id": "yotaikyo_registration", "label": "要保護児童対策地域協議会 登録",
                                   "value": "要支援児童", "observed_on": "2026-05-01"}], "active_plans": 1},
            "assessments": [{"date": "2026-06-01", "decision": "支援する", "observations": ["登校・出欠の様子: やや心配"],
                             "rationale": "欠席が増えている", "role": "こども家庭センター職員"}],
            "plans": [{"created_on": "2026-06-02", "status": "支援中", "responsible_body": "こども家庭センター",
                       "goals": "登校の継続", "next_review_on": "2027-01-15"}],
            "referrals": [], "follow_ups": [],
            "case_history": [{"date": "2026-06-02", "what": "状況の変更: 確認中 → 支援中", "detail": "欠席が増えている"}],
            "contacts": [{"date": "2026-11-20", "what": "家庭訪問（相手: 母）", "detail": "転居の予定を聞いた"}],
            "meetings": [{"date": "2026-11-25", "what": "出席機関: 学校（見守り）", "detail": "転居後も見守る"}],
            "ledger": [{"date": "2026-05-01", "what": "登録: 要支援児童、主担当機関 こども家庭センター", "detail": None}],
            "health_checkups": [{"item_id": "checkup_18m", "label": "1歳6か月児健診", "value": "受診",
                                 "observed_on": "2019-10-05"}],
            "vaccinations": [{"item_id": "vaccinations_missed", "label": "定期予防接種の未接種数", "value": "1",
                              "observed_on": "2026-10-31"}],
        },
        "unavailable": {},
    }


def seed_handover(home: Home) -> None:
    """Task 1 (P0002 moved out, case transfer) and package PACKAGE_ID from みらい市, linked to P0002."""
    own = load_identity(home.settings)
    header = envelope.Header(PACKAGE_ID, "case_transfer", PEER.code, own.code, "2026-12-03T09:00:00.000+00:00")
    content = content_for(PEER, own)
    data = envelope.seal_package(header, content, render_pdf(content), sign_key=PEER.sign_key,
                                 recipient_box=own.box_key.public_key)
    nodes = nodes_of(home.settings, scope="session")  # also seeds the browser tests' module-wide home
    try:
        with home.factory.begin() as session:
            directory.register(session, ADMIN, directory.own_card(PEER, None), own_code=own.code)
            session.add(HandoverTask(person_id="P0002", direction="out", moved_on=date(2026, 12, 1),
                                     reasons_json='["open_case"]', kind="case_transfer", due_on=date(2026, 12, 8),
                                     owner="cw1", status="open", detected_at=datetime.now(UTC)))
            received = inbox.receive(session, data, identity=own, nodes=nodes, via="file")
            assert received.package is not None and received.package.person_id == "P0002", received.refusal
            session.add(HandoverPackage(
                package_id=SENT_ID, direction="sent", kind="case_transfer", peer_code=PEER.code, person_id="P0002",
                task_id=None, status="sent", created_at=datetime.now(UTC), created_by="cw1",
                sent_at=datetime.now(UTC), due_on=date(2026, 12, 10), envelope=b"{}", envelope_sha256="e" * 64))
    finally:
        close_nodes(nodes)


def fresh_package(home: Home) -> bytes:
    """Another package from みらい市 for this home (as if it came by LGWAN mail)."""
    own = load_identity(home.settings)
    content = content_for(PEER, own)
    header = envelope.Header(uuid.uuid4().hex, "case_transfer", PEER.code, own.code, envelope.iso(datetime.now(UTC)))
    return envelope.seal_package(header, content, render_pdf(content), sign_key=PEER.sign_key,
                                 recipient_box=own.box_key.public_key)


def receipt_for_sent(home: Home) -> bytes:
    """みらい市's signed receipt for SENT_ID."""
    own = load_identity(home.settings)
    return envelope.sign_receipt(envelope.Receipt(SENT_ID, "received", PEER.code, own.code,
                                                  envelope.iso(datetime.now(UTC)), "", True, "e" * 64), PEER.sign_key)
