"""Intakes, escalation and a shared case on PostgreSQL (timestamptz keeps the offset SQLite drops)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tsunagu.hub import Hub
from tsunagu.privacy import Subject
from tsunagu.work.urgency import intake as svc
from tsunagu.work.urgency import shared

CENTRE = Subject("pg-cw", "centre_caseworker", "family_centre")
CGC = Subject("pg-cgc", "child_guidance_caseworker", "child_guidance_centre")


@pytest.mark.postgres
def test_intake_escalation_and_hand_up_on_postgres(postgres_hub: Hub) -> None:
    # a database of its own, dropped afterwards (tests/support/hubs.py): nothing to clean up
    factory, cipher = postgres_hub.sessions, postgres_hub.note_cipher
    received = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    with factory.begin() as session:
        view = svc.record_intake(session, CENTRE, svc.IntakeForm(
            received_at=received, reporter_kind="学校", concern="腕にあざ", grades={"injury": "severe"},
            person_id="pg-child-1"), cipher=cipher, hours=24)
    assert view.due_at == received + timedelta(hours=24) and view.latest is not None
    assert view.latest.hard_level == "緊急"
    with factory.begin() as session:
        assert svc.escalate_overdue(session, received + timedelta(hours=23)) == []
        assert svc.escalate_overdue(session, received + timedelta(hours=25)) == [view.id]
        case = shared.open_case(session, CENTRE, "pg-child-1", status="調査中", cipher=cipher)
        shared.hand_over(session, CENTRE, case.id, kind="hand_up", detail="送致",
                         note="保護者が面会を拒むため送致します", cipher=cipher, hours=48)
    with factory.begin() as session:
        rows = svc.due_list(session, CGC, datetime.now(UTC), cipher=cipher)
        assert [r.intake.reporter_kind for r in rows] == ["こども家庭センター"]
        got = shared.get_case(session, CGC, case.id, cipher=cipher)
        assert got.pending_for_me and got.status == "調査中"
