"""Meta-test over every route of the app.

1. Signed out, every route but the open ones is refused (sign-in page, 401 or a CSRF refusal).
2. Signed in while the policy denies everything (``Policy.decide`` replaced by a recording
   denial), every route asks the policy, refuses what concerns a child, and every route that
   touches a person leaves an audit entry naming that person.
3. With the real policy and a role that may, every route that touches a person succeeds and
   leaves an audit entry naming that person (or, for lists, one per child listed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.routing import APIRoute
from nacl.public import PrivateKey
from sqlalchemy import func, select
from starlette.routing import BaseRoute

from handover.packages import PACKAGE_ID, PEER, fresh_package, receipt_for_sent, seed_handover
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.handover import directory
from tsunagu.handover.keys import Identity
from tsunagu.link.models import ClericalPair, HouseholdMember
from tsunagu.privacy import AuditEntry, Decision, Policy, Subject
from tsunagu.web.app import create_app
from tsunagu.work import plans
from tsunagu.work.rights import requests
from tsunagu.work.rights.corrections import CorrectionClaim
from tsunagu.work.urgency import intake, shared
from web.conftest import Browser
from web.voice_support import seed_voice
from work.builders import Home

CHILD_MOUNT = "/kodomo"
OPEN = {"/", "/login", "/public/resources", "/openapi.json", "/docs", "/redoc"}
NEEDS_SESSION_ONLY = {"/logout"}  # signing out needs a session, not a permission
# Pages with no child's data that still render when the policy denies everything (they ask it,
# to decide what to offer, and offer nothing).
RENDER_WHEN_DENIED = {("GET", "/dashboard"), ("GET", "/resources"), ("GET", "/api/resources")}
# Routes about one child: path parameter -> the person it concerns (plan/referral/follow-up 1 are P0002's).
PERSON_PARAMS = {"person_id", "plan_id", "referral_id", "follow_up_id", "request_no", "notice_no", "task_id",
                 "package_id", "intake_id", "case_id", "act_id"}
LIST_ROUTES = {"/candidates", "/candidates.csv", "/api/candidates", "/intakes", "/shared", "/ledger", "/ledger/agenda.pdf",
               "/search", "/api/search"}
LIST_ACTIONS = {"/intakes": "intake.list", "/shared": "shared.list", "/ledger": "case.list",
                "/ledger/agenda.pdf": "ledger.print", "/search": "children.search",
                "/api/search": "children.search"}  # the rest list candidates
# Query parameters of list routes that need one (a search by school needs no search keys).
QUERIES = {"/search": {"school": "S001"}, "/api/search": {"school": "S001"}}

PATH_VALUES = {"person_id": "P0002", "plan_id": "1", "referral_id": "1", "follow_up_id": "1", "resource_id": "1",
               "pair_id": "1", "user_id": "teacher2", "request_no": "1", "notice_no": "1", "task_id": "1",
               "package_id": PACKAGE_ID, "intake_id": "1", "case_id": "1", "act_id": "1",
               "thread_id": "1", "class_id": "1"}
OTHER = Identity("141003", "かなた市", Ed25519PrivateKey.generate(), PrivateKey.generate())  # registered by the form
FORMS: dict[str, dict[str, str]] = {
    "/children/{person_id}/break-glass": {"purpose": "assessment", "justification": "夜間に警察から通告があり、安全確認のため至急", "minutes": "15"},
    "/children/{person_id}/reviews": {"decision": "support", "rationale": "就学援助と欠席の増加", "purpose": "assessment",
                                      "obs_attendance": "some"},
    "/children/{person_id}/observations": {"note": "元気がない", "obs_mood": "some", "purpose": "assessment"},
    "/children/{person_id}/plans": {"goals": "学習支援につなぐ", "responsible_body": "こども家庭センター",
                                    "next_review_on": "2027-01-31", "purpose": "support_coordination"},
    "/plans/{plan_id}/referrals": {"resource_id": "2", "note": "紹介", "purpose": "support_coordination"},
    "/referrals/{referral_id}": {"status": "closed", "outcome": "using", "note": "利用中"},
    "/plans/{plan_id}/follow-ups": {"due_on": "2026-12-15", "owner": "cw1", "note": "確認"},
    "/follow-ups/{follow_up_id}/done": {"note": "確認した"},
    "/plans/{plan_id}/close": {"note": "目標を達成した"},
    "/resources": {"name": "放課後の居場所", "category": "居場所・こども食堂", "public": "on", "active": "on"},
    "/resources/{resource_id}": {"name": "こども食堂 ひだまり", "category": "居場所・こども食堂", "public": "on",
                                 "active": "on"},
    "/link-review/{pair_id}": {"decision": "non_match", "reason": "生年月日が異なる"},
    "/admin/users": {"user_id": "newcomer", "display_name": "新人 職員", "role": "teacher", "organisation": "S001",
                     "password": "a-long-enough-password"},
    "/admin/assignments": {"user_id": "teacher1", "person_id": "P0002"},
    "/privacy/suspensions": {"person_id": "P0002", "reason": "利用停止請求 第3号"},
    "/privacy/requests": {"person_id": "P0002", "kind": "disclosure", "requester_kind": "person"},
    "/privacy/requests/{request_no}": {"action": "start", "note": "対応を始める"},
    "/privacy/corrections/{notice_no}": {"outcome": "rejected", "note": "住民記録のとおりで誤りはありません"},
    "/handover/tasks/{task_id}/send": {"kind": "case_transfer", "recipient": PEER.code, "via": "file"},
    "/handover/packages/{package_id}/link": {"person_id": "P0002"},
    "/handover/municipalities": {"card": json.dumps(directory.own_card(OTHER, None).as_dict())},
    "/intakes/record": {"received_at": "2026-11-20T09:30", "reporter_kind": "学校", "aza_number": "1000000002",
                        "concern": "腕にあざ", "g_injury": "minor"},
    "/intakes/{intake_id}/decision": {"level": "緊急", "protect": "no", "reason": ""},
    "/intakes/{intake_id}/information": {"note": "学校から追加の情報", "g_neglect": "mild"},
    "/intakes/{intake_id}/safety-check": {"seen_at": "2026-11-21T10:00", "note": "家庭訪問で本人を確認"},
    "/shared/open": {"intake_id": "1", "status": "調査中"},
    "/shared/{case_id}/message": {"note": "明日家庭訪問します"},
    "/shared/{case_id}/status": {"status": "在宅支援", "next_contact_on": "2026-12-20", "note": "訪問予定"},
    "/shared/{case_id}/hand-over": {"kind": "hand_up", "detail": "送致", "note": "家庭の状況が悪化したため送致します"},
    "/voice/threads/{thread_id}/reply": {"text": "おしえてくれて ありがとう"},
    "/voice/threads/{thread_id}/triage": {"priority": "high", "category": "school", "status": "open", "assigned_to": "cw1"},
    "/voice/duty": {"on_duty": "cw1"},
    "/kokoro/codes": {"label": "5年1組", "pupils": "0001\n0002"},
    "/kokoro/classes/{class_id}/opt-out": {"pupil_no": "0004"},
    "/kokoro/classes/{class_id}/opt-in": {"pupil_no": "0004"},
    "/children/{person_id}/case/status": {"status": "見守り", "reason": "学校での見守りに移行する", "purpose": "assessment"},
    "/children/{person_id}/case/owner": {"owner": "ssw1", "reason": "学校での支援が中心になるため"},
    "/children/{person_id}/contacts": {"contact_on": "2026-11-20", "kind": "phone", "counterpart": "母",
                                       "summary": "家庭訪問の日程を調整した"},
    "/children/{person_id}/meetings": {"held_on": "2026-11-20", "agency_1": "こども家庭センター", "agency_2": "小学校",
                                       "role_2": "登校の見守り", "decisions": "学習支援につなぐ"},
    "/children/{person_id}/ledger": {"category": "要支援児童", "lead_agency": "こども家庭センター",
                                     "registered_on": "2026-11-20"},
    "/children/{person_id}/ledger/review": {"reviewed_on": "2026-11-25", "next_review_on": "2026-12-20",
                                            "lead_agency": "小学校"},
    "/outreach/people/{person_id}/opt-out": {"reason": "電話で案内は不要との申出（11/5）"},
    "/outreach/people/{person_id}/language": {"language": "vi"},
}
# File uploads (LGWAN mail), made for the home at hand: (form field, maker).
UPLOADS: dict[str, tuple[str, Callable[[Home], bytes]]] = {
    "/handover/inbox": ("package", fresh_package), "/handover/receipts": ("receipt", receipt_for_sent),
}
JSON_BODIES: dict[str, dict[str, Any]] = {
    "/api/reviews": {"person_id": "P0002", "decision": "support", "rationale": "API から記録",
                     "observations": [{"aspect": "learning", "level": "some"}]},
    "/api/resources": {"name": "相談窓口 API", "category": "相談支援"},
}
# Who may use each route with the real policy (case 3); everything else: the centre caseworker.
# (first match wins: the stewards' page before the rest of /privacy)
ACTING_USER = {"/kokoro/export.csv": "principal1", "/kokoro": "teacher1", "/admin/users/{user_id}/approve": "po1", "/admin": "admin1", "/handover/municipalities": "admin1", "/privacy/corrections": "steward1", "/privacy": "po1",
               "/children/{person_id}/break-glass": "ssw1", "/outreach": "officer1", "/ranking": "steward1"}
PERSON_FOR_USER = {"ssw1": "P0003"}  # break-glass: a child of another school


def flat_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """app.routes, with included routers opened (newer FastAPI includes them lazily)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes)
        else:
            yield route


def routes_of(home: Home) -> list[tuple[str, str]]:
    app = create_app(home.settings)
    found = []
    for route in flat_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue  # the /static mount and FastAPI's own documentation routes
        if route.path.startswith(CHILD_MOUNT):
            continue  # the children's pages: their own session and meta-test (tests/web/test_voice.py)
        for method in sorted(route.methods or ()):
            if method in ("HEAD", "OPTIONS"):
                continue
            found.append((method, route.path))
    return found


def person_of(template: str, user: str = "cw1") -> str | None:
    params = set(re.findall(r"{(\w+)}", template))
    if params & PERSON_PARAMS:
        return PERSON_FOR_USER.get(user, "P0002")
    if template in ("/admin/assignments", "/privacy/suspensions", "/api/reviews", "/intakes/record", "/shared/open"):
        return "P0002"
    return None


def url_of(template: str, user: str = "cw1") -> str:
    values = dict(PATH_VALUES)
    if user in PERSON_FOR_USER:
        values["person_id"] = PERSON_FOR_USER[user]
    if template.endswith("/approve"):
        values["user_id"] = "newcomer"  # made by admin1 through POST /admin/users; a second person approves
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], template)


def actor_for(template: str) -> str:
    for prefix, user in ACTING_USER.items():
        if template == prefix or template.startswith(prefix + "/"):
            return user
    return "cw1"


def call(b: Browser, method: str, template: str, user: str = "cw1", home: Home | None = None) -> Any:
    url = url_of(template, user)
    if method == "POST" and template in UPLOADS and home is not None:
        field, make = UPLOADS[template]
        return b.post(url, {}, files={field: ("tsunagu.json", make(home), "application/json")})
    if method == "GET":
        query = {"purpose": "assessment"} if "{person_id}" in template or template.startswith("/api/children") else {}
        if template == "/children/{person_id}/support":
            query = {"purpose": "support_coordination"}
        query = {**query, **QUERIES.get(template, {})}
        return b.client.get(url, params=query, follow_redirects=False)
    if template in JSON_BODIES:
        return b.client.post(url, json=JSON_BODIES[template], headers={"X-CSRF-Token": b.csrf})
    return b.post(url, FORMS.get(template, {}))


def audit_count(home: Home, person_id: str | None = None, action: str | None = None) -> int:
    with home.factory() as session:
        stmt = select(func.count()).select_from(AuditEntry)
        if person_id is not None:
            stmt = stmt.where(AuditEntry.person_id == person_id)
        if action is not None:
            stmt = stmt.where(AuditEntry.action == action, AuditEntry.person_id.is_not(None))
        return int(session.scalar(stmt) or 0)


def _seed_work(home: Home) -> None:
    """Plan 1, referral 1 and follow-up 1 (P0002), and clerical pair 1, for the deny-everything pass."""
    cw = Subject("cw1", "centre_caseworker", "family_centre")
    with home.factory.begin() as session:
        plan = plans.create_plan(session, cw, "support_coordination", "P0002", goals="目標", responsible_body="センター",
                                 next_review_on=date(2027, 1, 1), cipher=home.cipher)
        referral = plans.add_referral(session, cw, "support_coordination", plan.id, resource_id=1, cipher=home.cipher)
        plans.add_follow_up(session, cw, "support_coordination", plan.id, due_on=date(2026, 12, 1), owner="cw1",
                            referral_id=referral.id, cipher=home.cipher)


def _seed_pair(home: Home) -> None:
    with home.factory.begin() as session:
        session.add(ClericalPair(run_id="link-1", left_key="juki_jumin:1000000002", right_key="school_kiroku:S001:0002",
                                 match_probability=0.62, comparison_json="{}", status="open"))


def _seed_requests(home: Home) -> None:
    """Request 1 (disclosure) and request 2 (correction, with notice 1 to the resident registry), both P0002's."""
    officer = Subject("po1", "privacy_officer", "privacy")
    with home.factory.begin() as session:
        requests.create_request(session, officer, "P0002", "disclosure", requester_kind="person",
                                received_on=date(2026, 11, 2))
        requests.create_request(session, officer, "P0002", "correction", requester_kind="person",
                                received_on=date(2026, 11, 2), manifests=packaged_manifests(), claims=[
                                    CorrectionClaim("juki_jumin", "1000000002", "full_name", "佐藤　華子")])


def _seed_intake(home: Home) -> None:
    """Intake 1: the family centre's, about P0002; shared case 1 and its act 1."""
    cw = Subject("cw1", "centre_caseworker", "family_centre")
    with home.factory.begin() as session:
        intake.record_intake(session, cw, intake.IntakeForm(
            received_at=datetime(2026, 11, 20, 0, 30, tzinfo=UTC), reporter_kind="学校", concern="顔にあざ",
            grades={}, person_id="P0002"), cipher=home.cipher, hours=48)
        # shared case 1 (the centre leads), with act 1: the 児相's 指導委託 back to the centre, to acknowledge
        case = shared.open_case(session, cw, "P0002", status="調査中", cipher=home.cipher)
        cgc = Subject("cgc9", "child_guidance_caseworker", "child_guidance_centre")
        shared.hand_over(session, cgc, case.id, kind="hand_back", detail="指導委託", note="在宅での指導を委託します",
                         cipher=home.cipher, hours=48)


def test_signed_out_every_route_but_the_open_ones_is_refused(home: Home, browser: Callable[..., Browser]) -> None:
    b = browser()
    checked = 0
    for method, template in routes_of(home):
        if template in OPEN:
            continue
        response = call(b, method, template)
        checked += 1
        if template.startswith("/api/"):
            assert response.status_code in (401, 403), (method, template, response.status_code)
            assert set(response.json()["error"]) == {"code", "message"}
        elif method == "POST":  # no session, so no CSRF token: refused before anything else
            assert response.status_code == 403, (method, template, response.status_code)
        else:
            assert response.status_code == 303 and response.headers["location"].startswith("/?next="), template
    assert checked > 30


def test_every_route_asks_the_policy_and_records_refusals_about_a_child(
    home: Home, browser: Callable[..., Browser], monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed_work(home)
    _seed_pair(home)
    _seed_requests(home)
    seed_handover(home)
    _seed_intake(home)
    b = browser("cw1")
    calls: list[str] = []

    def deny(self: Policy, subject: Subject, action: str, purpose: str, **_: Any) -> Decision:
        calls.append(action)
        return Decision(False, "拒否（テスト: すべて拒否）", "deny.test")

    monkeypatch.setattr(Policy, "decide", deny)
    checked = 0
    for method, template in routes_of(home):
        if template in OPEN or template in NEEDS_SESSION_ONLY:
            continue
        checked += 1
        calls.clear()
        person = person_of(template)
        before = audit_count(home, person) if person else audit_count(home)
        response = call(b, method, template)
        assert calls, f"{method} {template} never asked the policy"
        if (method, template) in RENDER_WHEN_DENIED:
            assert response.status_code == 200, (method, template)
            continue
        assert response.status_code == 403, (method, template, response.status_code, response.text[:300])
        if template.startswith("/api/"):
            assert response.json()["error"]["code"] == "forbidden"
        else:
            assert "拒否" in response.text
        if person is not None:
            assert audit_count(home, person) > before, f"{method} {template}: refusal about {person} not recorded"
    assert checked > 30


def _seed_household(home: Home) -> None:
    """P0002's register household (the outreach forms record a family's request per household)."""
    with home.factory.begin() as session:
        session.add(HouseholdMember(household_id="H:200001", person_id="P0002", role="child", relationship="子",
                                    valid_from=datetime(2026, 10, 31, tzinfo=UTC), valid_to=None))


def test_every_route_touching_a_person_records_it(home: Home, browser: Callable[..., Browser]) -> None:
    seed_voice(home)  # class 1 (teacher1's), thread 1 (a pupil's, with consent), principal1
    _seed_household(home)
    _seed_pair(home)
    _seed_requests(home)
    seed_handover(home)
    _seed_intake(home)
    sessions: dict[str, Browser] = {}
    touched = 0
    for method, template in routes_of(home):
        if template in OPEN or template in NEEDS_SESSION_ONLY:
            continue
        user = actor_for(template)
        b = sessions.get(user) or sessions.setdefault(user, browser(user))
        person = person_of(template, user)
        list_action = LIST_ACTIONS.get(template, "candidates.list")
        listed_before = audit_count(home, action=list_action)
        before = audit_count(home, person) if person else 0
        response = call(b, method, template, user, home)
        assert response.status_code < 400, (method, template, user, response.status_code, response.text[:400])
        if template in LIST_ROUTES:
            touched += 1
            assert audit_count(home, action=list_action) > listed_before, template
        elif person is not None:
            touched += 1
            assert audit_count(home, person) > before, f"{method} {template} touched {person} without a record"
    assert touched >= 20


STATISTICS_ROUTES = {"/statistics", "/statistics.json", "/statistics.csv", "/statistics.xlsx", "/statistics.pdf"}


def test_the_statistics_officer_opens_no_child_page_or_list(home: Home, browser: Callable[..., Browser]) -> None:
    """Over every route: the statistics role reads the statistics and nothing about any child."""
    from web.test_statistics import PEOPLE, add_statistics_officer

    _seed_work(home)
    _seed_pair(home)
    _seed_requests(home)
    seed_handover(home)
    _seed_intake(home)
    b = browser(add_statistics_officer(home))
    checked = 0
    for method, template in routes_of(home):
        if template in OPEN or template in NEEDS_SESSION_ONLY:
            continue
        checked += 1
        response = call(b, method, template, "stats1")
        if template in STATISTICS_ROUTES:
            assert response.status_code == 200, (method, template, response.status_code)
        elif (method, template) in RENDER_WHEN_DENIED:
            assert response.status_code == 200, (method, template)
        else:
            assert response.status_code == 403, (method, template, response.status_code, response.text[:300])
        if response.headers.get("content-type", "").startswith(("text/", "application/json")):
            assert not any(p in response.text for p in PEOPLE), (method, template)
    assert checked > 30
    with home.factory() as session:
        mine = session.scalars(select(AuditEntry).where(AuditEntry.actor == "stats1")).all()
    assert all(e.outcome != "allowed" for e in mine if e.person_id is not None)
    assert any(e.action == "statistics.read" and e.outcome == "allowed" for e in mine)


def test_the_municipal_api_mounted_beside_the_routes_refuses_what_is_not_signed(
        home: Home, browser: Callable[..., Browser]) -> None:
    """``/municipal`` (other municipalities' tsunagu) is not a staff route: no session opens it, only a
    registered municipality's signature; every refusal is recorded."""
    b = browser("cw1")  # a staff session is no key to it
    for path in ("/municipal/v1/packages", "/municipal/v1/receipts"):
        before = audit_count(home)
        response = b.client.post(path, content=b"{}", headers={"Content-Type": "application/json"})
        assert response.status_code == 401 and response.json()["error"]["code"] == "bad_signature", path
        assert response.headers["X-Tsunagu-Signature"]  # even a refusal is signed by this municipality
        assert audit_count(home) == before + 1, path
