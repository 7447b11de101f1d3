"""二次アセスメント and 観察記録 forms."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.privacy import Subject
from tsunagu.web.deps import CsrfForm, CurrentSubject, State, check_purpose, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.child import summary
from tsunagu.work.reviews import (
    ASPECTS,
    DECISIONS,
    LEVELS,
    TIER_DECISION,
    Observation,
    record_observation,
    record_review,
)

router = APIRouter(include_in_schema=False)


async def observations_from(request: Request) -> list[Observation]:
    form = await request.form()
    return [Observation(aspect, str(form[f"obs_{aspect}"])) for aspect in ASPECTS
            if str(form.get(f"obs_{aspect}") or "")]


@router.get("/children/{person_id}/review")
def review_form(request: Request, state: State, subject: CurrentSubject, person_id: str,
                purpose: str = "assessment") -> Response:
    return _review_page(request, state, subject, person_id, purpose, NO_FORM)


def _review_page(request: Request, state: AppState, subject: Subject, person_id: str, purpose: str,
                 form: FormState) -> Response:
    check_purpose(state, purpose)
    with state.reading() as session:
        view = summary(session, subject, purpose, person_id, cipher=state.cipher, key=state.key)
    return render(request, state, "review_form.html", view=view, aspects=ASPECTS, levels=LEVELS, decisions=DECISIONS,
                  suggested=TIER_DECISION.get(view.tier or "", ""), form=form,
                  may_review=state.hub.policy.allows(subject, "review.write", purpose, relationship=view.relationship, sensitivity=3),
                  may_observe=state.hub.policy.allows(subject, "observation.write", purpose, relationship=view.relationship,
                                     sensitivity=2))


@refills("/children/{person_id}/reviews", "/children/{person_id}/observations")
def _review_again(request: Request, form: FormState) -> Response:
    return _review_page(request, request.app.state.tsunagu, request.state.account.subject,
                        request.path_params["person_id"], form.value(form.action, "purpose", "assessment"), form)


Observations = Annotated[list[Observation], Depends(observations_from)]


@router.post("/children/{person_id}/reviews", dependencies=[CsrfForm])
def review_submit(
    state: State, subject: CurrentSubject, person_id: str, observations: Observations, decision: Annotated[str, Form()],
    rationale: Annotated[str, Form()] = "", override_reason: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = "assessment", run_id: Annotated[str, Form()] = "",
) -> Response:
    check_purpose(state, purpose)
    with state.unit() as session:
        record_review(session, subject, purpose, person_id, decision=decision, rationale=rationale,
                      observations=observations, override_reason=override_reason, run_id=run_id or None,
                      cipher=state.cipher, key=state.key)
    if decision == "support":  # the next step is a plan
        return RedirectResponse(f"/children/{quote(person_id)}/support?purpose=support_coordination&saved=review",
                                status_code=303)
    return RedirectResponse(f"/children/{quote(person_id)}?purpose={quote(purpose)}&saved=review", status_code=303)


@router.post("/children/{person_id}/observations", dependencies=[CsrfForm])
def observation_submit(
    state: State, subject: CurrentSubject, person_id: str, observations: Observations,
    note: Annotated[str, Form()] = "", purpose: Annotated[str, Form()] = "assessment",
) -> Response:
    check_purpose(state, purpose)
    with state.unit() as session:
        record_observation(session, subject, purpose, person_id, observations=observations, note=note,
                           cipher=state.cipher, key=state.key)
    return RedirectResponse(f"/children/{quote(person_id)}?purpose={quote(purpose)}", status_code=303)
