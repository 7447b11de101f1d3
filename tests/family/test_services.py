"""The family portal's services: codes, enrolment, lock-out, whose children, health, history, requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from family.builders import GRANDMOTHER, OFFICER, REGISTER, SATO, SUZUKI, TODAY, ingest_register
from tsunagu.hub import Hub
from tsunagu.privacy import AuditEntry
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.family import accounts
from tsunagu.work.family.accounts import FamilyLocked, FamilySignInFailed
from tsunagu.work.family.health import health_records
from tsunagu.work.family.history import child_history
from tsunagu.work.family.household import children_of, relationship_to
from tsunagu.work.family.issue import IssuedCode, issue_code
from tsunagu.work.family.models import FamilyCode
from tsunagu.work.family.requests import file_request
from tsunagu.work.rights.corrections import CorrectionClaim
from tsunagu.work.rights.requests import list_requests

PASSWORD = "a-long-family-password"


def _issue(hub: Hub, aza: str = SATO, days: int = 30, now: datetime | None = None) -> IssuedCode:
    with hub.unit() as session:
        return issue_code(session, OFFICER, aza, nodes=hub.nodes(), manifests=hub.manifests, days=days,
                          key=hub.signing_key, now=now)


def _enrol(hub: Hub, issued: IssuedCode, code: str | None = None, ip: str = "10.0.0.1",
           now: datetime | None = None) -> accounts.Guardian:
    with hub.unit() as session:
        return accounts.enrol(session, issued.login_id, code or issued.code, PASSWORD, PASSWORD, ip, now=now)


def test_the_code_is_for_a_parent_and_the_letter_names_the_register_s_guardian(family_hub: Hub) -> None:
    issued = _issue(family_hub)
    assert issued.name == "佐藤　美紀" and issued.address.startswith("つなぐ市") and len(issued.code) == 14
    with pytest.raises(Invalid, match="続柄"):
        _issue(family_hub, GRANDMOTHER)  # the head's mother is no guardian of the head's children
    with family_hub.unit() as session:
        stored = session.scalars(select(FamilyCode)).all()
    assert len(stored) == 1 and issued.code.replace("-", "") not in stored[0].code_hash


def test_a_code_works_once_and_only_the_latest_works(family_hub: Hub) -> None:
    first = _issue(family_hub)
    second = _issue(family_hub)
    assert first.login_id == second.login_id  # one account per guardian record
    with pytest.raises(FamilySignInFailed):
        _enrol(family_hub, first)  # revoked by the second letter
    guardian = _enrol(family_hub, second, code=second.code.lower().replace("-", " "))  # typed loosely
    assert guardian.register_id == SATO
    with pytest.raises(FamilySignInFailed):
        _enrol(family_hub, second)  # used


def test_an_expired_code_is_refused(family_hub: Hub) -> None:
    issued = _issue(family_hub, days=1)
    with pytest.raises(FamilySignInFailed, match="有効期限"):
        _enrol(family_hub, issued, now=datetime.now(UTC) + timedelta(days=1, minutes=1))


def test_five_wrong_codes_lock_the_id_even_for_the_right_code(family_hub: Hub) -> None:
    issued = _issue(family_hub)
    for _ in range(5):
        with pytest.raises(FamilySignInFailed):
            _enrol(family_hub, issued, code="AAAA-AAAA-AAAA")
    with pytest.raises(FamilyLocked):
        _enrol(family_hub, issued)
    with pytest.raises(FamilySignInFailed):  # the right code, once the lock has passed, still works
        _enrol(family_hub, issued, now=datetime.now(UTC) + timedelta(minutes=6), code="AAAA-AAAA-AAAA")
    assert _enrol(family_hub, issued, now=datetime.now(UTC) + timedelta(minutes=12)).register_id == SATO


def test_five_wrong_passwords_lock_sign_in(family_hub: Hub) -> None:
    guardian = _enrol(family_hub, _issue(family_hub))
    for _ in range(5):
        with family_hub.unit() as session, pytest.raises(FamilySignInFailed):
            stored = accounts.read_hash(session, guardian.login_id, "10.0.0.2")
            accounts.record_sign_in(session, guardian.login_id, stored, accounts.check_hash(stored, "wrong-password!"),
                                    "10.0.0.2")
    with family_hub.unit() as session, pytest.raises(FamilyLocked):
        accounts.read_hash(session, guardian.login_id, "10.0.0.2")


def test_children_come_from_the_register_and_leaving_the_household_ends_access(family_hub: Hub) -> None:
    guardian = _enrol(family_hub, _issue(family_hub))
    with family_hub.unit() as session:
        children = children_of(session, guardian.subject, SATO, nodes=family_hub.nodes(),
                               manifests=family_hub.manifests, today=TODAY)
        assert [c.person_id for c in children] == ["P0002", "P0005"]
        assert relationship_to(children, "P0003") == "none"
    moved = [r if r[0] != SATO else (SATO, "300099", *r[2:]) for r in REGISTER]
    family_hub.close()
    ingest_register(family_hub.settings.home, moved, "20261201")
    with Hub(family_hub.settings) as hub, hub.unit() as session:
        assert children_of(session, guardian.subject, SATO, nodes=hub.nodes(), manifests=hub.manifests,
                           today=TODAY) == []


def test_health_records_and_schedule_are_read_under_the_guardian_purpose(family_hub: Hub) -> None:
    guardian = _enrol(family_hub, _issue(family_hub))
    with family_hub.unit() as session:
        children = children_of(session, guardian.subject, SATO, nodes=family_hub.nodes(),
                               manifests=family_hub.manifests, today=TODAY)
        toddler = next(c for c in children if c.person_id == "P0005")
        view = health_records(session, guardian.subject, toddler, relationship="own_child", nodes=family_hub.nodes(),
                              manifests=family_hub.manifests, today=TODAY)
        other = next(c for c in children if c.person_id == "P0002")
        with pytest.raises(Refused):
            health_records(session, guardian.subject, other, relationship="none", nodes=family_hub.nodes(),
                           manifests=family_hub.manifests, today=TODAY)
    labels = {r.label: r.value for r in view.records}
    assert labels["乳児健診（4か月）"] == "受診" and labels["定期予防接種の未接種数"] == "1件"
    assert "産後うつ質問票（EPDS）得点" not in labels  # the mother's, not the child's
    due = {d.label: d.status for d in view.schedule}
    # born 2025-06-10, on 2026-12-07: the 1歳6か月 check-up opens in three days, MR 第1期 opened at one
    assert due["乳児健診（3〜4か月）"] == "done" and due["1歳6か月児健診"] == "soon" and due["3歳児健診"] == "later"
    assert due["麻しん・風しん（MR）第1期"] == "now" and "HPV（ヒトパピローマウイルス感染症）" not in due  # a boy
    assert due["日本脳炎 第1期（初回2回・追加1回）"] == "early"  # open from 6 months, the standard age is 3
    with family_hub.unit() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.actor == guardian.subject.user_id,
                                                           AuditEntry.action == "child.items.read")).all()
    assert [(e.person_id, e.outcome) for e in entries] == [("P0005", "allowed"), ("P0002", "denied")]


def test_history_withholds_child_protection_and_says_so(family_hub: Hub) -> None:
    from tsunagu.privacy import authorise
    guardian = _enrol(family_hub, _issue(family_hub))
    cw = __import__("tsunagu.privacy", fromlist=["Subject"]).Subject("cw1", "centre_caseworker", "family_centre")
    with family_hub.unit() as session:
        authorise(session, cw, "child.view", "assessment", person_id="P0002", relationship="municipality")
        authorise(session, cw, "intake.read", "assessment", person_id="P0002", relationship="own_agency",
                  sensitivity=3)
        view = child_history(session, guardian.subject, "P0002", relationship="own_child",
                             manifests=family_hub.manifests)
    assert [(line.body, line.role) for line in view.lines if line.body != "つなぐ（システム）"] == [
        ("こども家庭センター", "こども家庭センター職員")]
    assert view.withheld == 1 and "第78条" in view.withheld_text


def test_a_correction_filed_online_enters_the_staff_queue(family_hub: Hub) -> None:
    guardian = _enrol(family_hub, _issue(family_hub))
    with family_hub.unit() as session:
        filed = file_request(session, guardian.subject, "P0005", "correction", relationship="own_child",
                             claim=CorrectionClaim("boshi_hoken", "1000000005", "checkup_4m", "受診（10月15日）"),
                             manifests=family_hub.manifests)
        with pytest.raises(Refused):
            file_request(session, guardian.subject, "P0003", "disclosure", relationship="none",
                         manifests=family_hub.manifests)
        file_request(session, guardian.subject, "P0005", "disclosure", relationship="own_child",
                     manifests=family_hub.manifests)
        with pytest.raises(Invalid, match="いま市が調べています"):
            file_request(session, guardian.subject, "P0005", "disclosure", relationship="own_child",
                         manifests=family_hub.manifests)
    assert filed.kind_label == "訂正請求" and (filed.due_on - filed.received_on).days == 30
    with family_hub.unit() as session:
        queue = list_requests(session, OFFICER)
    mine = [v for v in queue if v.id == filed.number]
    assert mine and mine[0].requester_kind == "legal_representative" and mine[0].status == "received"


def test_suzuki_sees_only_his_son(family_hub: Hub) -> None:
    guardian = _enrol(family_hub, _issue(family_hub, SUZUKI))
    with family_hub.unit() as session:
        children = children_of(session, guardian.subject, SUZUKI, nodes=family_hub.nodes(),
                               manifests=family_hub.manifests, today=TODAY)
    assert [c.person_id for c in children] == ["P0003"]
