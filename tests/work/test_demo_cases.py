"""The demo's case seeding: owners, contacts, a meeting and 要対協 registrations, through the services, once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tsunagu.demo import seed_demo_cases
from tsunagu.privacy import Subject
from tsunagu.work import plans, reviews
from tsunagu.work import users as accounts
from tsunagu.work.cases import ledger, status
from tsunagu.work.cases.models import CaseContact, CaseMeeting
from work.builders import ADMIN, APPROVER, Home

DEMO_USERS = {"centre": ("centre_caseworker", "family_centre"), "nurse": ("public_health_nurse", "maternal_child_health"),
              "ssw": ("school_social_worker", "S001")}


def test_the_demo_seeds_cases_through_the_services_once(home: Home) -> None:
    today = datetime.now(UTC).date()
    with home.factory.begin() as session:
        assert seed_demo_cases(session, home.cipher) == 0  # no demo accounts yet: nothing to seed
        for user_id, (role, org) in DEMO_USERS.items():
            accounts.create_user(session, ADMIN, user_id, role=role, display_name=f"デモ {user_id}", organisation=org,
                                 password="a-long-enough-password", approver=APPROVER)
        centre = Subject("centre", "centre_caseworker", "family_centre")
        for pid in ("P0001", "P0002", "P0003", "P0004"):
            reviews.record_review(session, centre, "assessment", pid, decision="support", rationale="デモ",
                                  override_reason="デモのための判断の理由", cipher=home.cipher)
            plans.create_plan(session, centre, "support_coordination", pid, goals="デモ", responsible_body="センター",
                              next_review_on=None, cipher=home.cipher)
    with home.factory.begin() as session:
        assert seed_demo_cases(session, home.cipher, today=today) == 4
    with home.factory.begin() as session:
        assert seed_demo_cases(session, home.cipher, today=today) == 0  # not twice
        owners = {pid: status.case_view(session, pid, home.cipher, notes=False).owner
                  for pid in ("P0001", "P0002", "P0003", "P0004")}
        contacts = session.scalar(select(func.count()).select_from(CaseContact))
        meetings = session.scalar(select(func.count()).select_from(CaseMeeting))
        rows = ledger.ledger(session, centre, "support_coordination", today=today)
    assert owners == {"P0001": "centre", "P0002": "centre", "P0003": "nurse", "P0004": "ssw"}
    assert contacts == 12 and meetings == 1
    assert [r.overdue for r in rows] == [True, False, False]  # one past its three months, first
