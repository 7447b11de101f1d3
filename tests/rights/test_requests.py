"""Requests: statutory deadlines, extension, status history, refusals on record."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from rights.conftest import CASEWORKER, OFFICER, Town
from tsunagu.privacy import AuditEntry
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.rights import requests
from tsunagu.work.rights.deadlines import default_periods, due_on, extended_due_on

RECEIVED = date(2026, 11, 2)


def test_periods_are_data_with_their_articles() -> None:
    periods = default_periods()
    assert periods.of("disclosure").days == 30 and "第83条" in periods.of("disclosure").article
    assert "第83条第2項" in periods.of("disclosure").extension_article
    assert "第97条" in periods.of("correction").article and "第101条" in periods.of("suspension").article
    # The day of receipt is not counted: received 2 November, due 2 December; extended to 1 January.
    assert due_on(RECEIVED, "disclosure") == date(2026, 12, 2)
    assert extended_due_on(date(2026, 12, 2), "disclosure") == date(2027, 1, 1)
    assert due_on(date(2027, 1, 30), "correction") == date(2027, 3, 1)  # across a short February


def test_deadline_extension_overdue_and_history(town: Town) -> None:
    with town.factory.begin() as session:
        created = requests.create_request(session, OFFICER, town.child, "disclosure",
                                          requester_kind="legal_representative", requester_note="父（親権者）",
                                          received_on=RECEIVED, today=date(2026, 11, 3))
        assert (created.status, created.due_on, created.days_left) == ("received", date(2026, 12, 2), 29)
        assert not created.overdue and created.may_extend
        started = requests.start(session, OFFICER, created.id, note="各部署に照会", today=date(2026, 11, 4))
        assert started.status == "in_progress"
        with pytest.raises(Invalid, match="10文字"):
            requests.extend(session, OFFICER, created.id, "多い", today=date(2026, 11, 30))
        extended = requests.extend(session, OFFICER, created.id, "保有部署が多く、機微度3の項目の判断に時間を要するため",
                                   today=date(2026, 11, 30))
        assert extended.status == "extended" and extended.extended_due_on == date(2027, 1, 1)
        assert extended.effective_due_on == date(2027, 1, 1) and not extended.may_extend
        with pytest.raises(Invalid, match="既に延長"):
            requests.extend(session, OFFICER, created.id, "もう一度延長したいという理由", today=date(2026, 12, 1))
        late = requests.get_request(session, OFFICER, created.id, today=date(2027, 1, 5))
        assert late.overdue and late.days_left == -4
        listed = requests.list_requests(session, OFFICER, open_only=True, today=date(2027, 1, 5))
        assert [v.id for v in listed if v.overdue] == [created.id]
        refused = requests.refuse(session, OFFICER, created.id, "請求者の本人確認ができなかったため（法第77条）")
        assert refused.status == "refused" and not refused.open
        with pytest.raises(Invalid, match="既に"):
            requests.complete(session, OFFICER, created.id)
        history = requests.get_request(session, OFFICER, created.id)
        assert [e.to_status for e in history.events] == ["received", "in_progress", "extended", "refused"]


def test_extension_after_the_due_date_is_refused(town: Town) -> None:
    with town.factory.begin() as session:
        created = requests.create_request(session, OFFICER, town.child, "suspension", requester_kind="person",
                                          received_on=RECEIVED, today=RECEIVED)
        with pytest.raises(Invalid, match="当初の期限"):
            requests.extend(session, OFFICER, created.id, "遅れてしまったので延長したい", today=date(2026, 12, 3))
        with pytest.raises(Invalid, match="未来"):
            requests.create_request(session, OFFICER, town.child, "disclosure", requester_kind="person",
                                    received_on=date(2026, 12, 1), today=RECEIVED)


def test_every_step_is_decided_and_recorded_and_refusals_stay(town: Town) -> None:
    with town.factory.begin() as session:
        created = requests.create_request(session, OFFICER, town.child, "disclosure", requester_kind="person",
                                          received_on=RECEIVED)
    session = town.factory()
    try:
        with pytest.raises(Refused):
            requests.get_request(session, CASEWORKER, created.id)
        session.commit()
    finally:
        session.close()
    with town.factory() as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.person_id == town.child,
                                                                AuditEntry.action == "requests.handle")))
    assert [(e.role, e.purpose, e.outcome) for e in entries] == [
        ("privacy_officer", "disclosure_handling", "allowed"), ("centre_caseworker", "disclosure_handling", "denied")]
