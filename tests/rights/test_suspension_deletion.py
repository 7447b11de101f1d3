"""Suspension keeps the child out of screening and lists; deletion removes derived rows, never the audit."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from rights.conftest import CASEWORKER, OFFICER, Town
from tsunagu.link.models import HouseholdMember
from tsunagu.privacy import AuditEntry, verify
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.work.access import is_suspended
from tsunagu.work.candidates import CandidateFilter, list_candidates
from tsunagu.work.errors import Invalid
from tsunagu.work.models import Review, SupportPlan
from tsunagu.work.plans import close_plan, create_plan
from tsunagu.work.reviews import record_review
from tsunagu.work.rights import requests
from tsunagu.work.rights.deletion import DeletionScope
from tsunagu.work.rights.models import DeletionRecord

RECEIVED = date(2026, 11, 2)


def _count(town: Town, model: type[object], *where: object) -> int:
    with town.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _listed(town: Town) -> set[str]:
    with town.factory.begin() as session:
        page = list_candidates(session, CASEWORKER, "screening", CandidateFilter(), paginate=False)
    return {row.person_id for row in page.rows}


def test_a_suspended_child_is_in_no_new_result_and_no_list(town: Town) -> None:
    assert town.child in _listed(town)
    with town.factory.begin() as session:
        request = requests.create_request(session, OFFICER, town.child, "suspension", requester_kind="person",
                                          received_on=RECEIVED)
        done = requests.complete(session, OFFICER, request.id)
        assert done.status == "completed" and "停止" in (done.outcome_note or "")
        assert is_suspended(session, town.child)
    report = town.screen()
    with town.factory() as session:
        in_run = session.scalars(select(ScreeningResult.person_id).where(ScreeningResult.run_id == report.run_id,
                                                                         ScreeningResult.person_id == town.child)).all()
    assert report.children > 1000 and in_run == []
    assert town.child not in _listed(town)
    with town.factory.begin() as session:
        with pytest.raises(Invalid, match="10文字"):
            requests.lift_suspension(session, OFFICER, request.id, "取下げ")
        lifted = requests.lift_suspension(session, OFFICER, request.id, "本人から利用停止請求の取下げがあったため")
        assert not is_suspended(session, town.child)
        assert lifted.events[-1].event == "lift"


def test_deletion_removes_derived_rows_and_keeps_the_audit(town: Town) -> None:
    with town.factory.begin() as session:
        record_review(session, CASEWORKER, "assessment", town.child, decision="support", rationale="欠席が続いている",
                      override_reason="区分より強い支援が必要と判断した", cipher=town.cipher)
        request = requests.create_request(session, OFFICER, town.child, "deletion", requester_kind="person",
                                          received_on=RECEIVED)
    results = _count(town, ScreeningResult, ScreeningResult.person_id == town.child)
    households = _count(town, HouseholdMember, HouseholdMember.person_id == town.child)
    audit_before = _count(town, AuditEntry, AuditEntry.person_id == town.child)
    assert results and households
    with town.factory.begin() as session:
        done = requests.complete(session, OFFICER, request.id, "派生データを削除")
    assert done.status == "completed" and f"スクリーニング結果 {results}件" in (done.outcome_note or "")
    assert _count(town, ScreeningResult, ScreeningResult.person_id == town.child) == 0
    assert _count(town, HouseholdMember, HouseholdMember.person_id == town.child) == 0
    assert _count(town, Review, Review.person_id == town.child) == 1  # work records only on request, with a reason
    assert _count(town, AuditEntry, AuditEntry.person_id == town.child) > audit_before
    with town.factory() as session:
        recorded = {r.target: r.rows for r in session.scalars(select(DeletionRecord).where(
            DeletionRecord.request_id == request.id))}
        assert recorded["screening_results"] == results and recorded["household_members"] == households
        report = verify(session, town.key().public_key())
    assert report.ok, report.problems


def test_work_records_go_only_with_a_reason_and_never_while_support_is_active(town: Town) -> None:
    with town.factory.begin() as session, pytest.raises(Invalid, match="理由"):
        requests.create_request(session, OFFICER, town.child, "deletion", requester_kind="person",
                                received_on=RECEIVED, deletion=DeletionScope(work_records=True))
    with town.factory.begin() as session:
        record_review(session, CASEWORKER, "assessment", town.child, decision="support", rationale="欠席が続いている",
                      override_reason="区分より強い支援が必要と判断した", cipher=town.cipher)
        plan = create_plan(session, CASEWORKER, "support_coordination", town.child, goals="学習支援",
                           responsible_body="こども家庭センター", next_review_on=None, cipher=town.cipher)
        request = requests.create_request(
            session, OFFICER, town.child, "deletion", requester_kind="legal_representative", received_on=RECEIVED,
            deletion=DeletionScope(work_records=True, work_reason="支援が終結し、本人が記録の消去を希望したため"))
    with town.factory.begin() as session, pytest.raises(Invalid, match="支援中"):
        requests.complete(session, OFFICER, request.id)
    with town.factory.begin() as session:
        close_plan(session, CASEWORKER, "support_coordination", plan.id, note="目標を達成した", cipher=town.cipher)
        requests.complete(session, OFFICER, request.id)
    assert _count(town, Review, Review.person_id == town.child) == 0
    assert _count(town, SupportPlan, SupportPlan.person_id == town.child) == 0
    with town.factory() as session:
        assert verify(session, town.key().public_key()).ok
