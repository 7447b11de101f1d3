"""Two municipalities on loopback: a child with an open case moves; the package is sent, received,
linked, accepted; the receipt closes the sender's task; tampered, replayed and wrongly addressed
packages are refused and logged on both sides; the health records reach the child's page."""

from __future__ import annotations

import io
import json
import warnings
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from handover.conftest import B_CODE, C_CODE, CW, CW_B, TODAY, Side, trust
from support.hubs import new_home
from support.serving import served
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.config import load_settings
from tsunagu.handover import detect, inbox, outbox, service
from tsunagu.handover.keys import load_identity
from tsunagu.handover.models import HandoverEvent, HandoverPackage, HandoverTask
from tsunagu.municipality import Municipality
from tsunagu.privacy import AuditEntry
from tsunagu.vault.http import signing
from tsunagu.web.app import create_app
from tsunagu.work.cases.models import CaseContact, CaseEvent, CaseMeeting, LedgerEntry
from tsunagu.work.notes import seal
from work.builders import PASSWORD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _events(side: Side, event: str, outcome: str = "ok") -> list[HandoverEvent]:
    with side.home.factory() as session:
        return list(session.scalars(select(HandoverEvent).where(HandoverEvent.event == event,
                                                                HandoverEvent.outcome == outcome)))


def _package(side: Side, package_id: str) -> HandoverPackage:
    with side.home.factory() as session:
        row = session.get(HandoverPackage, package_id)
        assert row is not None
        session.expunge(row)
        return row


def _tasks(side: Side) -> dict[str, HandoverTask]:
    with side.home.factory() as session:
        rows = list(session.scalars(select(HandoverTask)))
        for row in rows:
            session.expunge(row)
        return {row.person_id: row for row in rows}


def _send(a: Side, person_id: str, kind: str, recipient: str = B_CODE) -> service.Delivery:
    return service.send(a.home.factory, CW, _tasks(a)[person_id].id, kind=kind, recipient=recipient,
                        identity=a.identity, nodes=a.nodes, cipher=a.home.cipher)


def _case_records(side: Side) -> None:
    """P0002's case (支援中) with its history, a home visit, a meeting and the 要対協 ledger; P0001's history."""
    cipher, at = side.home.cipher, datetime(2026, 6, 1, 9, tzinfo=UTC)
    with side.home.factory.begin() as session:
        for person, to, reason in (("P0002", "支援中", "登校が途切れ、母の就労で夕方に子どもだけになる"),
                                   ("P0001", "見守り", "重点支援の判定。家庭の様子を見守る")):
            session.add(CaseEvent(person_id=person, at=at, actor="cw1", kind="status", from_status="確認中",
                                  to_status=to, from_owner=None, to_owner=None, reason_enc=seal(cipher, reason)))
        session.add(CaseContact(person_id="P0002", contact_on=date(2026, 11, 20), kind="home_visit", staff="cw1",
                                counterpart_enc=cipher.encrypt("母"), summary_enc=cipher.encrypt("転居先の学校への手続きを確認した"),
                                created_by="cw1", created_at=at))
        attendees = [{"agency": "学校", "people": "担任 山本", "role": "見守り"},
                     {"agency": "こども家庭センター", "people": "森", "role": "主担当"}]
        session.add(CaseMeeting(person_id="P0002", held_on=date(2026, 11, 20),
                                attendees_enc=cipher.encrypt(json.dumps(attendees, ensure_ascii=False)),
                                decisions_enc=cipher.encrypt("転居後も要支援児童として見守る"),
                                next_review_on=date(2027, 2, 20), created_by="cw1", created_at=at))
        session.add(LedgerEntry(person_id="P0002", category="要支援児童", lead_agency="こども家庭センター",
                                registered_on=date(2026, 6, 1), last_reviewed_on=date(2026, 11, 20),
                                next_review_on=date(2027, 2, 20), closed_on=None, updated_by="cw1", updated_at=at))


def test_a_moving_child_is_handed_over_and_attacks_are_refused_on_both_sides(
        pair: tuple[Side, Side], monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = pair
    with a.home.factory.begin() as session:
        report = detect.detect(session, a.nodes, packaged_manifests(), today=TODAY)
    tasks = _tasks(a)
    assert report.moves == 2 and set(tasks) == {"P0001", "P0002"}
    moved = tasks["P0002"]
    assert (moved.kind, moved.owner, moved.due_on.isoformat()) == ("case_transfer", "cw1", "2026-12-08")
    assert json.loads(moved.reasons_json) == ["open_case"]
    assert (tasks["P0001"].kind, json.loads(tasks["P0001"].reasons_json)) == ("information_provision", ["priority_tier"])

    # At みらい市 the arrival with an open case becomes a task to ask the previous municipality.
    with b.home.factory.begin() as session:
        arrivals = detect.detect(session, b.nodes, packaged_manifests(), today=TODAY)
    inquiry = _tasks(b)
    assert (arrivals.moves, set(inquiry)) == (2, {"Q0001"})  # Q0002 moved in too, but nobody here supports her
    assert (inquiry["Q0001"].direction, inquiry["Q0001"].kind, inquiry["Q0001"].owner) == ("in", "inquiry", "cwb")

    _case_records(a)
    with served(create_app(a.home.settings)) as a_url, served(create_app(b.home.settings)) as b_url:
        trust(a, b.identity, f"{b_url}/municipal")
        trust(b, a.identity, f"{a_url}/municipal")

        # Sent, received and linked: the receipt comes back in the answer.
        delivery = _send(a, "P0002", "case_transfer")
        assert delivery.ok and delivery.status == "received", delivery
        received = _package(b, delivery.package_id)
        assert (received.direction, received.person_id, received.status) == ("received", "Q0001", "received")
        assert _tasks(a)["P0002"].status == "sent"

        # Accepted by a named owner; the signed acceptance closes the sender's task.
        accepted = service.accept(b.home.factory, CW_B, delivery.package_id, identity=b.identity)
        assert accepted.ok, accepted
        sent = _package(a, delivery.package_id)
        assert (sent.status, sent.accepted_by) == ("accepted", "青木 センター（みらい市）")
        assert _tasks(a)["P0002"].status == "closed"
        assert _tasks(b)["Q0001"].status == "closed"  # the inquiry is answered by the accepted package
        with b.home.factory() as session:
            opened = inbox.open_received(inbox.received_package(session, delivery.package_id), b.identity, session)
        sections = dict(opened.content["section_labels"])
        assert list(sections) == ["summary", "assessments", "plans", "referrals", "follow_ups", "case_history",
                                  "contacts", "meetings", "ledger", "health_checkups", "vaccinations"]
        assert opened.content["sections"]["plans"][0]["goals"] == "母子の生活の安定と登校の継続"
        carried = opened.content["sections"]
        # The case records travel with the case, their free text too; staff are never named.
        assert carried["case_history"][0] == {"date": "2026-06-01", "what": "状況の変更: 確認中 → 支援中",
                                              "detail": "登校が途切れ、母の就労で夕方に子どもだけになる"}
        assert carried["contacts"] == [{"date": "2026-11-20", "what": "家庭訪問（相手: 母）",
                                        "detail": "転居先の学校への手続きを確認した"}]
        assert carried["meetings"][0]["what"] == "出席機関: 学校（見守り）、こども家庭センター（主担当）、次回見直し 2027-02-20"
        assert carried["meetings"][0]["detail"] == "転居後も要支援児童として見守る"
        assert carried["ledger"][0]["what"] == "登録: 要支援児童、主担当機関 こども家庭センター"
        assert "森" not in json.dumps(carried, ensure_ascii=False) and "cw1" not in json.dumps(carried)
        assert opened.content["child"]["full_name"] == "佐藤　花子"
        pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(opened.pdf)).pages)
        for text in ("ケース移管", "つなぐ市", "みらい市", "母子保健法第19条の2", "母子の生活の安定"):
            assert text in pdf_text, text

        # Tampered: one byte of the sealed part changed in the sender's store.
        with a.home.factory.begin() as session:
            package = outbox.prepare(session, CW, _tasks(a)["P0001"].id, kind="information_provision",
                                     recipient=B_CODE, identity=a.identity, nodes=a.nodes, cipher=a.home.cipher)
            package_id, original = package.package_id, package.envelope
            doc = json.loads(original)
            doc["sealed"] = ("A" if doc["sealed"][10] != "A" else "B").join((doc["sealed"][:10], doc["sealed"][11:]))
            package.envelope = json.dumps(doc).encode()
        tampered = service.deliver(a.home.factory, CW, package_id, identity=a.identity)
        assert not tampered.ok and "bad_signature" in tampered.detail
        assert any("bad_signature" in e.detail for e in _events(b, "refused", "refused"))
        assert any("bad_signature" in e.detail for e in _events(a, "refused", "refused"))

        # The original, with a fixed nonce; then the same nonce again: a replay.
        with a.home.factory.begin() as session:
            session.get(HandoverPackage, package_id).envelope = original  # type: ignore[union-attr]
        monkeypatch.setattr(signing, "new_nonce", lambda: "ab" * 16)
        assert service.deliver(a.home.factory, CW, package_id, identity=a.identity).ok
        with a.home.factory.begin() as session:
            session.get(HandoverPackage, package_id).status = "sealed"  # type: ignore[union-attr]
        replayed = service.deliver(a.home.factory, CW, package_id, identity=a.identity)
        assert not replayed.ok and "replay" in replayed.detail
        monkeypatch.undo()
        # A new message carrying a package already received: refused as a duplicate.
        with a.home.factory.begin() as session:
            session.get(HandoverPackage, package_id).status = "sealed"  # type: ignore[union-attr]
        duplicate = service.deliver(a.home.factory, CW, package_id, identity=a.identity)
        assert not duplicate.ok and "duplicate" in duplicate.detail
        for code in ("replay", "duplicate"):
            assert any(code in e.detail for e in _events(b, "refused", "refused")), code
            assert any(code in e.detail for e in _events(a, "refused", "refused")), code

        # Wrongly addressed: a package for かなた市 whose address in the directory points at みらい市.
        c_home = a.home.settings.home.parent.parent / "c" / "home"
        new_home(c_home, Municipality(C_CODE, "かなた市"))
        trust(a, load_identity(load_settings(c_home)), f"{b_url}/municipal")
        with a.home.factory.begin() as session:
            task = session.get(HandoverTask, _tasks(a)["P0001"].id)
            assert task is not None
            task.status, task.package_id = "open", None  # a new hand-over of the same child, to another place
        misrouted = _send(a, "P0001", "information_provision", recipient=C_CODE)
        assert not misrouted.ok and "wrong_recipient" in misrouted.detail
        # 情報提供 (P0001's, delivered above) carries no plan, no contact log and no free text.
        with b.home.factory() as session:
            provided = inbox.open_received(inbox.received_package(session, package_id), b.identity, session).content
        assert [s for s, _ in provided["section_labels"]] == ["summary", "assessments", "referrals", "case_history",
                                                              "ledger", "health_checkups", "vaccinations"]
        assert "plans" not in provided["sections"] and "follow_ups" not in provided["sections"]
        assert "contacts" not in provided["sections"] and "meetings" not in provided["sections"]
        history = provided["sections"]["case_history"]
        assert history[0]["what"] == "状況の変更: 確認中 → 見守り" and history[0]["detail"] is None  # no free text
        assert any("wrong_recipient" in e.detail for e in _events(b, "refused", "refused"))
        assert any("wrong_recipient" in e.detail for e in _events(a, "send_failed", "error"))

    # Every step is in both audit chains.
    for side, actions in ((a, {"handover.detect", "handover.send", "handover.deliver", "handover.receipt"}),
                          (b, {"handover.receive", "handover.intake"})):
        with side.home.factory() as session:
            recorded = set(session.scalars(select(AuditEntry.action)))
        assert actions <= recorded, actions - recorded
    with b.home.factory() as session:
        denied = session.scalars(select(AuditEntry.reason).where(
            AuditEntry.action.in_(("handover.receive", "handover.packages.http")), AuditEntry.outcome == "denied")).all()
    for code in ("bad_signature", "replay", "duplicate", "wrong_recipient"):
        assert any(reason.startswith(code) for reason in denied), code

    # The received health records are on the child's page at みらい市.
    with TestClient(create_app(b.home.settings)) as client:
        page = client.get("/")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        assert client.post("/login", data={"user_id": "cwb", "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False).status_code == 303
        child = client.get("/children/Q0001", params={"purpose": "assessment"})
    assert child.status_code == 200
    assert "前住所地の健診・予防接種" in child.text
    for text in ("乳児健診（4か月）", "受診", "3歳児健診", "未受診", "定期予防接種の未接種数", "つなぐ市"):
        assert text in child.text, text
