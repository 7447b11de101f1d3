"""支援方針・つなぎ・フォローアップ: the support page and its forms."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.privacy import Subject
from tsunagu.web.deps import PURPOSE_CHOICES, CsrfForm, CurrentSubject, RowId, State, _row_id, check_purpose, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work import plans as work_plans
from tsunagu.work.child import summary
from tsunagu.work.errors import Invalid
from tsunagu.work.resources import list_resources

router = APIRouter(include_in_schema=False)
SUPPORT = "support_coordination"


def _date(text: str, label: str, field: str, required: bool = False) -> date | None:
    if not text.strip():
        if required:
            raise Invalid(f"{label}を入力してください。", field=field)
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise Invalid(f"{label}は YYYY-MM-DD の形で入力してください。", field=field) from exc


def _back(person_id: str, purpose: str = SUPPORT, saved: str = "") -> RedirectResponse:
    suffix = f"&saved={saved}" if saved else ""
    return RedirectResponse(f"/children/{quote(person_id)}/support?purpose={quote(purpose)}{suffix}", status_code=303)


@router.get("/children/{person_id}/support")
def support_page(request: Request, state: State, subject: CurrentSubject, person_id: str, purpose: str = SUPPORT,
                 saved: str = "") -> Response:
    return _support_page(request, state, subject, person_id, purpose, saved, NO_FORM)


def _support_page(request: Request, state: AppState, subject: Subject, person_id: str, purpose: str, saved: str,
                  form: FormState) -> Response:
    check_purpose(state, purpose)
    with state.reading() as session:
        view = summary(session, subject, purpose, person_id, cipher=state.cipher, key=state.key)
        resources = list_resources(session)
        people = work_plans.caseworkers(session)
        names = work_plans.display_names(session, {p.created_by for p in view.plans}
                                         | {f.owner for p in view.plans for f in p.follow_ups})
    rel = view.relationship
    reviews = [r for r in view.reviews if r.kind == "review"]
    return render(
        request, state, "support.html", view=view, resources=resources, people=people, saved=saved, form=form,
        names=names, latest_review=max(reviews, key=lambda r: r.created_at).id if reviews else None,
        may_plan=state.hub.policy.allows(subject, "plan.write", purpose, relationship=rel, sensitivity=3) or view.break_glass,
        may_refer=state.hub.policy.allows(subject, "referral.write", SUPPORT, relationship=rel, sensitivity=3),
        statuses=work_plans.REFERRAL_STATUSES, outcomes=work_plans.OUTCOMES,
    )


@refills("/children/{person_id}/plans", "/plans/{plan_id}/referrals", "/referrals/{referral_id}",
         "/plans/{plan_id}/follow-ups", "/follow-ups/{follow_up_id}/done", "/plans/{plan_id}/close")
def _support_again(request: Request, form: FormState) -> Response:
    state: AppState = request.app.state.tsunagu
    params = request.path_params
    with state.read_factory() as session:
        if "person_id" in params:
            person_id = params["person_id"]
        elif "plan_id" in params:
            person_id = work_plans.plan_person(session, _row_id(int(params["plan_id"])))
        elif "referral_id" in params:
            person_id = work_plans.referral_person(session, _row_id(int(params["referral_id"])))
        else:
            person_id = work_plans.follow_up_person(session, _row_id(int(params["follow_up_id"])))
    purpose = form.value(form.action, "purpose", SUPPORT)
    return _support_page(request, state, request.state.account.subject, person_id,
                         purpose if purpose in PURPOSE_CHOICES else SUPPORT, "", form)


@router.post("/children/{person_id}/plans", dependencies=[CsrfForm])
def plan_create(
    state: State, subject: CurrentSubject, person_id: str, goals: Annotated[str, Form()] = "",
    responsible_body: Annotated[str, Form()] = "", next_review_on: Annotated[str, Form()] = "",
    review_id: Annotated[str, Form()] = "", purpose: Annotated[str, Form()] = SUPPORT,
) -> Response:
    check_purpose(state, purpose)
    with state.unit() as session:
        work_plans.create_plan(
            session, subject, purpose, person_id, goals=goals, responsible_body=responsible_body,
            next_review_on=_date(next_review_on, "次回の見直し日", "next_review_on"),
            review_id=int(review_id) if review_id.isdigit() else None, cipher=state.cipher, key=state.key,
        )
    return _back(person_id, purpose, "plan")


@router.post("/plans/{plan_id}/referrals", dependencies=[CsrfForm])
def referral_create(
    state: State, subject: CurrentSubject, plan_id: RowId, resource_id: Annotated[RowId, Form()],
    note: Annotated[str, Form()] = "", purpose: Annotated[str, Form()] = SUPPORT,
) -> Response:
    check_purpose(state, purpose)
    with state.unit() as session:
        person_id = work_plans.plan_person(session, plan_id)
        work_plans.add_referral(session, subject, purpose, plan_id, resource_id=resource_id, note=note,
                                cipher=state.cipher, key=state.key)
    return _back(person_id, SUPPORT, "referral")


@router.post("/referrals/{referral_id}", dependencies=[CsrfForm])
def referral_update(
    state: State, subject: CurrentSubject, referral_id: RowId, status: Annotated[str, Form()],
    outcome: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = SUPPORT,
) -> Response:
    check_purpose(state, purpose)
    with state.unit() as session:
        person_id = work_plans.referral_person(session, referral_id)
        work_plans.update_referral(session, subject, purpose, referral_id, status=status, outcome=outcome or None,
                                   note=note, cipher=state.cipher, key=state.key)
    return _back(person_id, SUPPORT, "referral")


@router.post("/plans/{plan_id}/follow-ups", dependencies=[CsrfForm])
def follow_up_create(
    state: State, subject: CurrentSubject, plan_id: RowId, due_on: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "", referral_id: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = SUPPORT,
) -> Response:
    check_purpose(state, purpose)
    due = _date(due_on, "期日", "due_on", required=True)
    assert due is not None
    with state.unit() as session:
        person_id = work_plans.plan_person(session, plan_id)
        work_plans.add_follow_up(session, subject, purpose, plan_id, due_on=due, owner=owner, note=note,
                                 referral_id=int(referral_id) if referral_id.isdigit() else None,
                                 cipher=state.cipher, key=state.key)
    return _back(person_id, purpose, "follow_up")


@router.post("/follow-ups/{follow_up_id}/done", dependencies=[CsrfForm])
def follow_up_done(
    state: State, subject: CurrentSubject, follow_up_id: RowId, note: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = SUPPORT,
) -> Response:
    check_purpose(state, purpose)
    with state.unit() as session:
        person_id = work_plans.follow_up_person(session, follow_up_id)
        work_plans.complete_follow_up(session, subject, purpose, follow_up_id, note=note, cipher=state.cipher,
                                      key=state.key)
    return _back(person_id, purpose, "follow_up")


@router.post("/plans/{plan_id}/close", dependencies=[CsrfForm])
def plan_close(
    state: State, subject: CurrentSubject, plan_id: RowId, note: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = SUPPORT,
) -> Response:
    check_purpose(state, purpose)
    with state.unit() as session:
        person_id = work_plans.plan_person(session, plan_id)
        work_plans.close_plan(session, subject, purpose, plan_id, note=note, cipher=state.cipher, key=state.key)
    return _back(person_id, purpose, "closed")
