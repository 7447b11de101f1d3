"""Case management services: status moves (explicit and with the work), owners and transfers,
contacts and meetings (encrypted), the 要対協 ledger's three-month rule, worklists, printing."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from support.hubs import nodes_of
from tsunagu.privacy import AuditEntry, Subject
from tsunagu.work import plans, reviews
from tsunagu.work import users as accounts
from tsunagu.work.access import relationship
from tsunagu.work.candidates import CandidateFilter, list_candidates
from tsunagu.work.cases import ledger, records, status, worklists
from tsunagu.work.cases.models import CaseContact, CaseMeeting
from tsunagu.work.cases.pdf import render_agenda, render_case_summary
from tsunagu.work.cases.summary import agenda, case_summary
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.unit import unit_of_work
from work.builders import ADMIN, APPROVER, Home

SUPPORT = "support_coordination"
TODAY = datetime.now(UTC).date()


def unit(home: Home) -> AbstractContextManager[Session]:
    return unit_of_work(home.factory)


def case_of(home: Home, person_id: str = "P0002") -> status.CaseView:
    with home.factory() as session:
        return status.case_view(session, person_id, home.cipher, notes=True)


def add_cgc(home: Home) -> Subject:
    with home.factory.begin() as session:
        accounts.create_user(session, ADMIN, "cgc1", role="child_guidance_caseworker", display_name="西村 児相",
                             organisation="child_guidance", password="a-long-enough-password", approver=APPROVER)
    return Subject("cgc1", "child_guidance_caseworker", "child_guidance")


def test_status_follows_review_plan_and_closure(home: Home) -> None:
    cw = home.subject("cw1")
    assert case_of(home).status == "未確認" and not case_of(home).known
    with unit(home) as session:
        reviews.record_review(session, cw, "assessment", "P0002", decision="support", rationale="欠席が続く",
                              cipher=home.cipher)
    assert case_of(home).status == "確認中" and case_of(home).known
    with unit(home) as session:
        plan = plans.create_plan(session, cw, SUPPORT, "P0002", goals="学習支援", responsible_body="センター",
                                 next_review_on=None, cipher=home.cipher)
        second = plans.create_plan(session, cw, SUPPORT, "P0002", goals="家庭訪問", responsible_body="センター",
                                   next_review_on=None, cipher=home.cipher)
    assert case_of(home).status == "支援中"
    with unit(home) as session:
        plans.close_plan(session, cw, SUPPORT, plan.id, note="達成", cipher=home.cipher)
    assert case_of(home).status == "支援中"  # another plan is still active
    with unit(home) as session:
        plans.close_plan(session, cw, SUPPORT, second.id, note="達成", cipher=home.cipher)
    history = case_of(home).history
    assert case_of(home).status == "終結"
    assert [(e.from_status, e.to_status) for e in reversed(history)] == [
        ("未確認", "確認中"), ("確認中", "支援中"), ("支援中", "終結")]
    assert all(e.kind_label == "記録にともなう変更" and e.actor_name == "中村 センター" for e in history)


def test_an_observation_does_not_open_a_case(home: Home) -> None:
    with unit(home) as session:
        reviews.record_observation(session, home.subject("teacher1"), "assessment", "P0001",
                                   observations=[("mood", "some")], cipher=home.cipher)
    assert case_of(home, "P0001").status == "未確認"


@pytest.mark.parametrize(("target", "reason", "message"), [
    ("見守り", "学校での見守りに移行", None),
    ("終結", "短い", "5文字以上"),
    ("完了", "存在しない状況への変更", "いずれか"),
    ("未確認", "変更のない状況を選んだ", "すでに"),
])
def test_explicit_status_change_needs_a_known_status_and_a_reason(home: Home, target: str, reason: str,
                                                                  message: str | None) -> None:
    cw = home.subject("cw1")
    if message is None:
        with unit(home) as session:
            view = status.change_status(session, cw, SUPPORT, "P0002", status=target, reason=reason, cipher=home.cipher)
        assert view.status == target and view.history[0].reason == reason
        return
    with pytest.raises(Invalid, match=message), unit(home) as session:
        status.change_status(session, cw, SUPPORT, "P0002", status=target, reason=reason, cipher=home.cipher)
    assert case_of(home).history == ()


def test_a_case_with_an_active_plan_cannot_be_closed_by_hand(home: Home) -> None:
    cw = home.subject("cw1")
    with unit(home) as session:
        plans.create_plan(session, cw, SUPPORT, "P0002", goals="目標", responsible_body="センター",
                          next_review_on=None, cipher=home.cipher)
    with pytest.raises(Invalid, match="支援方針を終結してから"), unit(home) as session:
        status.change_status(session, cw, SUPPORT, "P0002", status="終結", reason="家庭が転出した", cipher=home.cipher)


@pytest.mark.parametrize(("owner", "allowed"), [
    ("ssw1", True), ("cw1", True), ("admin1", False), ("po1", False), ("steward1", False), ("teacher1", False),
    ("nobody", False),
])
def test_only_accounts_whose_role_handles_cases_can_own_one(home: Home, owner: str, allowed: bool) -> None:
    cw = home.subject("cw1")
    if allowed:
        with unit(home) as session:
            view = status.assign_owner(session, cw, SUPPORT, "P0002", owner=owner, cipher=home.cipher)
        assert view.owner == owner and view.team
        return
    with pytest.raises(Invalid), unit(home) as session:
        status.assign_owner(session, cw, SUPPORT, "P0002", owner=owner, cipher=home.cipher)


def test_transfer_moves_the_assigned_case_relationship(home: Home) -> None:
    cw, cgc = home.subject("cw1"), add_cgc(home)
    with home.factory() as session:
        assert relationship(session, cgc, "P0003") == "none"
    with unit(home) as session:
        status.assign_owner(session, cw, SUPPORT, "P0003", owner="cgc1", cipher=home.cipher)
    with home.factory() as session:
        assert relationship(session, cgc, "P0003") == "assigned_case"
    with pytest.raises(Invalid, match="引継ぎの理由"), unit(home) as session:
        status.assign_owner(session, cw, SUPPORT, "P0003", owner="cw1", cipher=home.cipher)
    with unit(home) as session:
        view = status.assign_owner(session, cw, SUPPORT, "P0003", owner="cw1", reason="児相の関与が終わったため",
                                   cipher=home.cipher)
    with home.factory() as session:
        assert relationship(session, cgc, "P0003") == "none"
    assert view.owner_name == "中村 センター"
    assert (view.history[0].from_owner_name, view.history[0].to_owner_name) == ("西村 児相", "中村 センター")


@pytest.mark.parametrize(("user", "person", "allowed"), [
    ("cw1", "P0003", True), ("ssw1", "P0001", True), ("ssw1", "P0003", False), ("teacher1", "P0001", False),
    ("admin1", "P0001", False), ("po1", "P0001", False),
])
def test_who_may_read_and_write_a_case(home: Home, user: str, person: str, allowed: bool) -> None:
    subject = home.subject(user)
    if allowed:
        with unit(home) as session:
            records.record_contact(session, subject, SUPPORT, person, contact_on=TODAY, kind="phone", staff=user,
                                   counterpart="母", summary="様子を聞いた", cipher=home.cipher)
            contacts, _ = records.read_records(session, subject, SUPPORT, person, cipher=home.cipher)
        assert [c.summary for c in contacts] == ["様子を聞いた"]
        return
    with pytest.raises(Refused), unit(home) as session:
        records.record_contact(session, subject, SUPPORT, person, contact_on=TODAY, kind="phone", staff=user,
                               counterpart="母", summary="様子を聞いた", cipher=home.cipher)
    with home.factory() as session:
        refused = session.scalars(select(AuditEntry).where(AuditEntry.actor == user, AuditEntry.person_id == person,
                                                           AuditEntry.action == "case.write")).all()
    assert [e.outcome for e in refused] == ["denied"]


def test_contacts_and_meetings_are_stored_encrypted(home: Home) -> None:
    cw = home.subject("cw1")
    attendees = records.parse_attendees([("こども家庭センター", "担当", "全体の調整"), ("", "", ""),
                                         ("小学校", "担任", "登校の連絡")])
    with unit(home) as session:
        records.record_contact(session, cw, SUPPORT, "P0002", contact_on=TODAY, kind="home_visit", staff="cw1",
                               counterpart="祖母", summary="台所に食べ物がほとんどない", cipher=home.cipher)
        records.record_meeting(session, cw, SUPPORT, "P0002", held_on=TODAY, attendees=attendees,
                               decisions="フードバンクにつなぐ", next_review_on=TODAY + timedelta(days=30),
                               cipher=home.cipher)
    with home.factory() as session:
        raw = b"".join(bytes(v) for row in session.execute(text(
            "SELECT counterpart_enc, summary_enc FROM case_contacts UNION ALL "
            "SELECT attendees_enc, decisions_enc FROM case_meetings")).all() for v in row)
        assert "食べ物".encode() not in raw and "祖母".encode() not in raw and "フードバンク".encode() not in raw
        meeting = records.meetings_of(session, "P0002", home.cipher)[0]
        assert session.query(CaseContact).count() == 1 and session.query(CaseMeeting).count() == 1
    assert [a.agency for a in meeting.attendees] == ["こども家庭センター", "小学校"]
    assert meeting.attendees[1].role == "登校の連絡" and meeting.created_by_name == "中村 センター"


@pytest.mark.parametrize(("rows", "held", "following", "message"), [
    ([("センター", "担当", "調整")], TODAY, None, "2つ以上の機関"),
    ([("センター", "", ""), ("", "担任", "連絡")], TODAY, None, "機関名"),
    ([("センター", "", ""), ("学校", "", "")], TODAY + timedelta(days=1), None, "未来の日付"),
    ([("センター", "", ""), ("学校", "", "")], TODAY, TODAY, "開催日より後"),
])
def test_a_meeting_is_refused_with_a_reason(home: Home, rows: list[tuple[str, str, str]], held: date,
                                            following: date | None, message: str) -> None:
    with pytest.raises(Invalid, match=message), unit(home) as session:
        attendees = records.parse_attendees(rows)
        records.record_meeting(session, home.subject("cw1"), SUPPORT, "P0002", held_on=held, attendees=attendees,
                               decisions="決定", next_review_on=following, cipher=home.cipher)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 11, 30), 3, date(2027, 2, 28)), (date(2027, 11, 30), 3, date(2028, 2, 29)),
    (date(2026, 10, 15), 3, date(2027, 1, 15)), (date(2026, 1, 31), 1, date(2026, 2, 28)),
])
def test_add_months_keeps_the_day_or_the_months_end(day: date, months: int, expected: date) -> None:
    assert ledger.add_months(day, months) == expected


def test_the_ledger_enforces_three_months_and_lists_overdue_first(home: Home) -> None:
    cw = home.subject("cw1")
    start = TODAY - timedelta(days=120)
    with pytest.raises(Invalid, match="3か月に1回"), unit(home) as session:
        ledger.register(session, cw, SUPPORT, "P0001", category="要支援児童", lead_agency="センター",
                        registered_on=start, next_review_on=start + timedelta(days=100), cipher=home.cipher)
    with unit(home) as session:
        ledger.register(session, cw, SUPPORT, "P0001", category="要支援児童", lead_agency="センター",
                        registered_on=start, next_review_on=None, cipher=home.cipher)  # due 3 months on: passed
        ledger.register(session, cw, SUPPORT, "P0003", category="要保護児童", lead_agency="児童相談所",
                        registered_on=TODAY, next_review_on=TODAY + timedelta(days=10), cipher=home.cipher)
    with pytest.raises(Invalid, match="登録されています"), unit(home) as session:
        ledger.register(session, cw, SUPPORT, "P0003", category="要保護児童", lead_agency="児童相談所",
                        registered_on=TODAY, next_review_on=None, cipher=home.cipher)
    with unit(home) as session:
        rows = ledger.ledger(session, cw, SUPPORT)
        soon = ledger.ledger(session, cw, SUPPORT, due_by=TODAY + timedelta(days=5))
    assert [(r.person_id, r.overdue) for r in rows] == [("P0001", True), ("P0003", False)]
    assert [r.person_id for r in soon] == ["P0001"]
    with unit(home) as session:
        ledger.review(session, cw, SUPPORT, "P0001", reviewed_on=TODAY, next_review_on=None,
                      lead_agency="小学校", cipher=home.cipher)
        ledger.review(session, cw, SUPPORT, "P0003", reviewed_on=TODAY, next_review_on=None, close=True,
                      cipher=home.cipher)
        rows = ledger.ledger(session, cw, SUPPORT, include_closed=True)
    assert [(r.person_id, r.overdue, r.lead_agency, r.closed_on) for r in rows] == [
        ("P0001", False, "小学校", None), ("P0003", False, "児童相談所", TODAY)]
    assert rows[0].next_review_on == ledger.add_months(TODAY, 3)


def test_the_ledger_is_scoped_and_each_listed_child_recorded(home: Home) -> None:
    cw, ssw = home.subject("cw1"), home.subject("ssw1")
    with unit(home) as session:
        for pid in ("P0001", "P0003"):
            ledger.register(session, cw, SUPPORT, pid, category="要支援児童", lead_agency="センター",
                            registered_on=TODAY, next_review_on=None, cipher=home.cipher)
    with unit(home) as session:
        rows = ledger.ledger(session, cw, SUPPORT)
        school = ledger.ledger(session, ssw, SUPPORT)  # an SSW: the registered children of their schools
    with pytest.raises(Refused), unit(home) as session:
        ledger.ledger(session, home.subject("teacher1"), SUPPORT)
    assert [r.person_id for r in school] == ["P0001"]
    with home.factory() as session:
        listed = set(session.scalars(select(AuditEntry.person_id).where(AuditEntry.action == "case.list")))
    assert {r.person_id for r in rows} == {"P0001", "P0003"} <= listed


def test_worklists_mine_unassigned_overdue(home: Home) -> None:
    cw, ssw = home.subject("cw1"), home.subject("ssw1")
    with unit(home) as session:
        for pid in ("P0001", "P0002", "P0004"):
            reviews.record_review(session, cw, "assessment", pid, decision="support", rationale="根拠",
                                  override_reason="スクリーニングと異なる判断の理由", cipher=home.cipher)
        status.assign_owner(session, cw, SUPPORT, "P0001", owner="cw1", cipher=home.cipher)
        status.assign_owner(session, cw, SUPPORT, "P0004", owner="ssw1", cipher=home.cipher)
        plan = plans.create_plan(session, cw, SUPPORT, "P0002", goals="目標", responsible_body="センター",
                                 next_review_on=None, cipher=home.cipher)
        plans.add_follow_up(session, cw, SUPPORT, plan.id, due_on=TODAY - timedelta(days=3), owner="cw1",
                            cipher=home.cipher)
        plans.add_follow_up(session, cw, SUPPORT, plan.id, due_on=TODAY + timedelta(days=3), owner="cw1",
                            cipher=home.cipher)
    with unit(home) as session:
        mine = worklists.worklist(session, cw, "mine", SUPPORT).rows
        theirs = worklists.worklist(session, ssw, "mine", SUPPORT).rows
        unassigned = worklists.worklist(session, cw, "unassigned", SUPPORT).rows
        overdue = worklists.worklist(session, cw, "overdue", SUPPORT).rows
        paged = worklists.worklist(session, cw, "overdue", SUPPORT, page=2, per_page=1)
    assert [(r.person_id, r.owner_name, r.status) for r in mine] == [("P0001", "中村 センター", "確認中")]
    assert [r.person_id for r in theirs] == ["P0004"]
    assert [(r.person_id, r.status) for r in unassigned] == [("P0002", "支援中")]
    assert [(r.person_id, r.due_on, r.what) for r in overdue] == [("P0002", TODAY - timedelta(days=3), "フォローアップ")]
    assert (paged.total, paged.page, paged.pages, [r.person_id for r in paged.rows]) == (1, 1, 1, ["P0002"])
    with pytest.raises(Refused), unit(home) as session:
        worklists.worklist(session, home.subject("teacher1"), "mine", SUPPORT)


def test_candidate_list_shows_status_and_owner_and_filters_by_them(home: Home) -> None:
    cw = home.subject("cw1")
    with unit(home) as session:
        reviews.record_review(session, cw, "assessment", "P0002", decision="support", rationale="根拠",
                              cipher=home.cipher)
        status.assign_owner(session, cw, SUPPORT, "P0002", owner="cw1", cipher=home.cipher)
    with unit(home) as session:
        page = list_candidates(session, cw, "screening", CandidateFilter())
        checking = list_candidates(session, cw, "screening", CandidateFilter(status="確認中"))
        unchecked = list_candidates(session, cw, "screening", CandidateFilter(status="未確認"))
        mine = list_candidates(session, cw, "screening", CandidateFilter(owner="me"))
        nobody = list_candidates(session, cw, "screening", CandidateFilter(owner="none"))
        teacher = list_candidates(session, home.subject("teacher1"), "screening", CandidateFilter())
    by_id = {r.person_id: r for r in page.rows}
    assert page.cases_visible and by_id["P0002"].case_status == "確認中" and by_id["P0002"].case_owner == "中村 センター"
    assert by_id["P0002"].case_known and by_id["P0002"].no_mark  # shown as 「抽出時はノーマーク」
    assert not by_id["P0001"].case_known
    assert [r.person_id for r in checking.rows] == ["P0002"] == [r.person_id for r in mine.rows]
    assert "P0002" not in {r.person_id for r in unchecked.rows} | {r.person_id for r in nobody.rows}
    assert unchecked.total == page.total - 1
    assert not teacher.cases_visible and all(r.case_status == "" for r in teacher.rows)
    with pytest.raises(Invalid), unit(home) as session:
        list_candidates(session, cw, "screening", CandidateFilter(status="完了"))


def test_case_summary_and_agenda_print_are_recorded_and_render(home: Home) -> None:
    from tsunagu.vault.topology import close_nodes

    cw = home.subject("cw1")
    with unit(home) as session:
        status.assign_owner(session, cw, SUPPORT, "P0002", owner="cw1", cipher=home.cipher)
        records.record_contact(session, cw, SUPPORT, "P0002", contact_on=TODAY, kind="phone", staff="cw1",
                               counterpart="母", summary="電話で様子を聞いた", cipher=home.cipher)
        ledger.register(session, cw, SUPPORT, "P0002", category="要支援児童", lead_agency="センター",
                        registered_on=TODAY, next_review_on=TODAY + timedelta(days=7), cipher=home.cipher)
    nodes = nodes_of(home.settings)
    try:
        with unit(home) as session:
            data = case_summary(session, cw, SUPPORT, "P0002", nodes=nodes, cipher=home.cipher)
            items = agenda(session, cw, SUPPORT, TODAY + timedelta(days=10), nodes=nodes)
    finally:
        close_nodes(nodes)
    assert data.identity.name == "佐藤　花子" and data.case.owner_name == "中村 センター"
    assert [c.summary for c in data.contacts] == ["電話で様子を聞いた"]
    assert [(a.row.person_id, a.identity.name) for a in items] == [("P0002", "佐藤　花子")]
    assert render_case_summary(data).startswith(b"%PDF") and render_agenda(items, TODAY, "つなぐ市", datetime.now(UTC))
    with home.factory() as session:
        actions = {e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.person_id == "P0002"))}
    assert {"case.print", "ledger.print"} <= actions


def test_a_deletion_of_work_records_takes_the_case_records_but_not_during_a_registration(home: Home) -> None:
    from tsunagu.work.cases.models import Case, CaseEvent, LedgerEntry
    from tsunagu.work.models import CaseAssignment
    from tsunagu.work.rights import requests
    from tsunagu.work.rights.deletion import DeletionScope

    cw, officer = home.subject("cw1"), home.subject("po1")
    with unit(home) as session:
        status.assign_owner(session, cw, SUPPORT, "P0003", owner="ssw1", cipher=home.cipher)
        records.record_contact(session, cw, SUPPORT, "P0003", contact_on=TODAY, kind="phone", staff="cw1",
                               counterpart="母", summary="電話", cipher=home.cipher)
        ledger.register(session, cw, SUPPORT, "P0003", category="要支援児童", lead_agency="センター",
                        registered_on=TODAY, next_review_on=None, cipher=home.cipher)
        request = requests.create_request(
            session, officer, "P0003", "deletion", requester_kind="person", received_on=TODAY,
            deletion=DeletionScope(work_records=True, work_reason="支援が終わり、本人が記録の消去を希望したため"))
    with pytest.raises(Invalid, match="進行管理中"), unit(home) as session:
        requests.complete(session, officer, request.id)
    with unit(home) as session:
        ledger.review(session, cw, SUPPORT, "P0003", reviewed_on=TODAY, next_review_on=None, close=True,
                      cipher=home.cipher)
    with unit(home) as session:
        requests.complete(session, officer, request.id)
    with home.factory() as session:
        for model in (Case, CaseEvent, CaseContact, LedgerEntry):
            assert session.query(model).filter_by(person_id="P0003").count() == 0, model
        ended = session.scalars(select(CaseAssignment.ended_at).where(CaseAssignment.user_id == "ssw1",
                                                                      CaseAssignment.person_id == "P0003")).all()
        assert ended and all(e is not None for e in ended)  # the SSW's access through the case ended


def test_the_disclosure_pack_lists_the_case_and_withholds_its_free_text(home: Home) -> None:
    from tsunagu.catalog.manifest import packaged_manifests
    from tsunagu.vault.topology import close_nodes
    from tsunagu.work.rights import requests
    from tsunagu.work.rights.disclosure import NOTE_WITHHELD, build_pack
    from tsunagu.work.rights.pdf import render_pdf

    cw, officer = home.subject("cw1"), home.subject("po1")
    with unit(home) as session:
        status.change_status(session, cw, SUPPORT, "P0002", status="確認中", reason="学校から相談があった",
                             cipher=home.cipher)
        records.record_contact(session, cw, SUPPORT, "P0002", contact_on=TODAY, kind="home_visit", staff="cw1",
                               counterpart="母", summary="台所に食べ物がない", cipher=home.cipher)
        ledger.register(session, cw, SUPPORT, "P0002", category="要支援児童", lead_agency="センター",
                        registered_on=TODAY, next_review_on=None, cipher=home.cipher)
        request = requests.create_request(session, officer, "P0002", "disclosure", requester_kind="person",
                                          received_on=TODAY)
    nodes = nodes_of(home.settings)
    try:
        with unit(home) as session:
            data = build_pack(session, officer, request.id, nodes=nodes, manifests=packaged_manifests(),
                              cipher=home.cipher)
    finally:
        close_nodes(nodes)
    case = data["case"]
    assert case["status"] == "確認中" and case["history"][-1]["change"] == "未確認 → 確認中"
    assert case["contacts"] == [{"on": TODAY.isoformat(), "kind": "家庭訪問", "counterpart": NOTE_WITHHELD,
                                 "summary": NOTE_WITHHELD}]
    assert case["ledger"]["category"] == NOTE_WITHHELD and "食べ物" not in str(data)
    assert render_pdf(data).startswith(b"%PDF")
