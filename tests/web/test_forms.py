"""Refused forms come back on their own page, filled in, the message beside the field (web/forms.py);
the support page's closure, outcome and assessment defaults (issue 19, findings 4, 5 and 10)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from fastapi.routing import APIRoute

from tsunagu.web.app import create_app
from tsunagu.web.forms import registered_paths
from tsunagu.work import plans
from web.conftest import Browser
from web.test_meta import flat_routes
from work.builders import Home

# Buttons with nothing typed (a confirmation, a receipt), and file uploads (a browser never refills a
# file input; their refusals are shown on the hand-over page): no form to fill in again. Sign-in keeps
# the user id itself and never sends a password back.
NOTHING_TYPED = {"/login", "/logout", "/privacy/verify", "/admin/users/{user_id}/disable",
                 "/admin/users/{user_id}/approve", "/privacy/suspensions/{person_id}/lift",
                 "/handover/detect", "/handover/packages/{package_id}/accept",
                 "/shared/{case_id}/acts/{act_id}/receipt", "/handover/inbox", "/handover/receipts",
                 # the steward's approval button (its refusal, ECE over the gate, comes back on /ranking)
                 "/ranking/approve"}
# The children's pages are no staff forms: they have their own session (no staff account, which the
# refill needs to show a staff page) and their own plain pages, which put a refused form back with what
# the child typed themselves (tests/web/test_voice.py::test_a_childs_refused_form_keeps_what_they_typed).
CHILDREN_OWN_PAGES = "/kodomo/"


def _field_error(page: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error" role="alert">([^<]+)</p>', page)
    assert found is not None, f"no message beside {field_id}"
    return html.unescape(found.group(1))


def _plan(home: Home) -> plans.PlanView:
    with home.factory() as session, session.begin():
        plan = plans.create_plan(session, home.subject("cw1"), "support_coordination", "P0002", goals="学習支援",
                                 responsible_body="こども家庭センター", next_review_on=None, cipher=home.cipher)
        plans.add_referral(session, home.subject("cw1"), "support_coordination", plan.id,
                           resource_id=home.resources[1], cipher=home.cipher)
    with home.factory() as session:
        [view] = [p for p in plans.plans_of(session, "P0002", home.cipher, notes=True) if p.id == plan.id]
    return view


def test_every_staff_form_that_can_refuse_has_its_page_to_come_back_to(home: Home) -> None:
    posts = {r.path for r in flat_routes(create_app(home.settings).routes)
             if isinstance(r, APIRoute) and "POST" in r.methods and not r.path.startswith(("/api", CHILDREN_OWN_PAGES))}
    assert posts - NOTHING_TYPED - registered_paths() == set()


def test_a_short_override_reason_comes_back_beside_its_field_with_the_text_kept(
        browser: Callable[..., Browser]) -> None:
    cw = browser("cw1")
    # P0001 is 重点支援: 見守る differs from the tier and needs a reason of 10 characters or more.
    sent = cw.post("/children/P0001/reviews", {"decision": "watch", "rationale": "面談で落ち着いていた",
                                               "override_reason": "短い理由", "purpose": "assessment",
                                               "obs_attendance": "some"})
    assert sent.status_code == 422
    page = sent.text
    assert "理由を10文字以上" in _field_error(page, "override_reason")
    assert ">短い理由</textarea>" in page and ">面談で落ち着いていた</textarea>" in page
    assert re.search(r'value="watch"[^>]*checked', page) and not re.search(r'value="support"[^>]*checked', page)
    assert re.search(r'<option value="some" selected>', page)  # the observation chosen stays chosen
    assert "ダッシュボードへ戻る" not in page  # the form's page, not the error page


def test_a_short_break_glass_justification_keeps_its_text(browser: Callable[..., Browser]) -> None:
    ssw = browser("ssw1")
    sent = ssw.post("/children/P0003/break-glass", {"purpose": "assessment", "justification": "至急", "minutes": "15"})
    assert sent.status_code == 403 and ">至急</textarea>" in sent.text and '<details class="break-glass" open>' in sent.text
    assert '<option value="15" selected>' in sent.text


def test_a_correction_request_offers_departments_and_items_to_choose(browser: Callable[..., Browser]) -> None:
    po = browser("po1")
    page = po.client.get("/privacy/requests").text
    assert '<select id="r-source" name="source"' in page and '<select id="r-field" name="field"' in page
    assert "juki_jumin" not in page.split('id="r-source"')[1].split("</select>")[0].split("<option")[1]
    sent = po.post("/privacy/requests", {"person_id": "P0002", "kind": "correction", "requester_kind": "person",
                                         "requester_note": "母（親権者）", "source": "juki_jumin", "field": "full_name",
                                         "local_id": "1000000002", "claimed_value": ""})
    assert sent.status_code == 422 and "本人の主張" in _field_error(sent.text, "r-value")
    assert 'value="母（親権者）"' in sent.text and re.search(r'<option value="full_name" selected>', sent.text)


def test_a_missing_required_field_is_named_beside_it(browser: Callable[..., Browser]) -> None:
    cw = browser("cw1")
    page = cw.post("/children/P0001/reviews", {"rationale": "根拠はここに", "purpose": "assessment"}).text
    assert _field_error(page, "decision") == "判断を入力してください。"
    assert ">根拠はここに</textarea>" in page


def test_an_early_close_keeps_the_closure_note_on_the_support_page(home: Home, browser: Callable[..., Browser]) -> None:
    plan = _plan(home)
    cw = browser("cw1")
    sent = cw.post(f"/plans/{plan.id}/close", {"note": "家庭の状況が落ち着いたため終結したい",
                                               "purpose": "support_coordination"})
    assert sent.status_code == 422
    assert "結果が記録されていないつなぎ" in sent.text and "支援方針・つなぎ" in sent.text
    assert ">家庭の状況が落ち着いたため終結したい</textarea>" in sent.text
    # a bad date on the follow-up form: beside the date, the other values kept
    sent = cw.post(f"/plans/{plan.id}/follow-ups", {"due_on": "12月15日", "owner": "cw1", "note": "初回の確認"})
    assert "YYYY-MM-DD" in _field_error(sent.text, f"due-{plan.id}") and ">初回の確認</textarea>" in sent.text


def test_a_plan_closes_once_its_referrals_have_outcomes_even_while_in_use(home: Home,
                                                                          browser: Callable[..., Browser]) -> None:
    plan = _plan(home)
    [referral] = plan.referrals
    cw = browser("cw1")
    # in use (利用開始), its outcome recorded: the outcome is known, the referral is not "ended"
    assert cw.post(f"/referrals/{referral.id}", {"status": "connected", "outcome": "using"}).status_code == 303
    page = cw.client.get("/children/P0002/support?purpose=support_coordination").text
    assert re.search(r'<option value="using" selected>', page)  # the saved outcome is pre-selected
    assert cw.post(f"/plans/{plan.id}/close", {"note": "支援につながった"}).status_code == 303
    with home.factory() as session:
        [closed] = [p for p in plans.plans_of(session, "P0002", home.cipher, notes=True) if p.id == plan.id]
    assert closed.status == "closed"


def test_the_plan_form_offers_the_latest_assessment_and_only_caseworkers_as_owners(
        home: Home, browser: Callable[..., Browser]) -> None:
    cw = browser("cw1")
    for rationale in ("一回目の判断", "二回目の判断"):
        assert cw.post("/children/P0002/reviews", {"decision": "support", "rationale": rationale,
                                                   "purpose": "assessment"}).status_code == 303
    page = cw.client.get("/children/P0002/support?purpose=support_coordination&saved=review").text
    options = re.findall(r'<option value="(\d+)"( selected)?>[^<]*支援する', page)
    assert len(options) == 2 and [int(i) for i, selected in options if selected] == [max(int(i) for i, _ in options)]
    plan = _plan(home)
    page = cw.client.get("/children/P0002/support?purpose=support_coordination").text
    owners = re.search(rf'<select id="owner-{plan.id}"[^>]*>(.*?)</select>', page, re.S)
    assert owners is not None
    offered = set(re.findall(r'value="([^"]+)"', owners.group(1)))
    assert {"cw1", "ssw1"} <= offered and not offered & {"admin1", "po1", "steward1", "teacher1"}
    assert "中村 センター" in page and "（cw1）" not in page  # the creator and owners by name


def test_an_unknown_aza_number_on_an_intake_is_named_beside_it(browser: Callable[..., Browser]) -> None:
    cw = browser("cw1")
    sent = cw.post("/intakes/record", {"received_at": "2026-11-20T09:30", "reporter_kind": "学校",
                                       "aza_number": "9999999999", "concern": "腕にあざがある"})
    assert sent.status_code == 422 and "見つかりません" in _field_error(sent.text, "aza_number")
    assert ">腕にあざがある</textarea>" in sent.text and 'value="9999999999"' in sent.text
