"""The hub's retention plan and a deletion request on PostgreSQL (one migration path, two back-ends)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from rights.conftest import OFFICER
from tsunagu.hub import Hub
from tsunagu.link.models import LinkDecision, Person, PersonLink
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.work.rights import requests
from tsunagu.work.rights.models import DeletionRecord
from tsunagu.work.rights.retention import delete_planned, packaged_periods, plan_hub

PID = "pg-rights-1"


@pytest.mark.postgres
def test_retention_plan_and_deletion_on_postgres(postgres_hub: Hub) -> None:
    factory = postgres_hub.sessions
    old = datetime(2020, 1, 1, tzinfo=UTC)
    with factory.begin() as session:
        session.add(ScreeningRun(run_id="pg-run", as_of=date(2020, 1, 1), started_at=old, finished_at=old,
                                 rule_set_hash="x" * 64, rule_set_json="{}", snapshots_json="{}"))
        session.add(Person(person_id=PID, created_run="pg-link", status="active"))
        session.flush()
        session.add(PersonLink(person_id=PID, department="schools", source="school_meibo", local_id="S:1",
                               method="probabilistic", match_probability=0.99, run_id="pg-link"))
        session.add(ScreeningResult(run_id="pg-run", person_id=PID, tier="見守り", domains="[]", domain_scores="{}",
                                    hard_rules="[]", reasons=json.dumps([]), trend="new"))
        session.add_all([LinkDecision(left_key="school_meibo:S:1", right_key="juki_jumin:9", decision="non_match",
                                      decided_by="x", decided_at=old, reason="双子"),
                         LinkDecision(left_key="school_meibo:gone", right_key="juki_jumin:8",
                                      decision="match", decided_by="x", decided_at=old, reason="同一")])
    with factory.begin() as session:
        plan = plan_hub(session, packaged_periods(), date(2040, 1, 1))
        counts = plan.counts()
        # The decision about a record still in the link index is kept; the other one expires.
        assert counts["screening_results"] >= 1 and counts["link_decisions"] == 1
        request = requests.create_request(session, OFFICER, PID, "deletion", requester_kind="person",
                                          received_on=date(2026, 11, 2))
        requests.complete(session, OFFICER, request.id)
        assert session.scalar(select(func.count()).select_from(ScreeningResult)
                              .where(ScreeningResult.person_id == PID)) == 0
        assert session.scalars(select(DeletionRecord.rows).where(DeletionRecord.request_id == request.id,
                                                                 DeletionRecord.target == "screening_results")
                               ).one() == 1
        delete_planned(session, plan_hub(session, packaged_periods(), date(2040, 1, 1)))
        assert session.scalar(select(func.count()).select_from(LinkDecision)
                              .where(LinkDecision.left_key == "school_meibo:gone")) == 0
