"""こども詳細: opened only for a chosen purpose, which is recorded with every read."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.handover.inbox import carried_for_page
from tsunagu.web.charts import attendance_chart, stats_svg, trend_svg
from tsunagu.web.deps import PURPOSE_CHOICES, CsrfForm, CurrentSubject, State, check_purpose, render
from tsunagu.web.forms import FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.access import RELATIONSHIPS
from tsunagu.work.cases.panel import case_panel as read_case_panel
from tsunagu.work.child import open_break_glass, open_child, person_exists
from tsunagu.work.errors import NotFound
from tsunagu.work.household import household_view

router = APIRouter(include_in_schema=False)


@router.get("/children/{person_id}")
def child_page(request: Request, state: State, subject: CurrentSubject, person_id: str,
               purpose: str | None = None) -> Response:
    if not purpose:
        # The purpose chooser shows nothing of the child, and is the same page for every child: which
        # purposes the role could use under any relationship is a policy fact about the role, so it is
        # checked without a record. Marking purposes by *this* child's relationship told a teacher,
        # unrecorded, which children were in their class. The read that follows is decided and recorded.
        with state.read_factory() as session:
            if not person_exists(session, person_id):
                raise NotFound(f"個人ID {person_id} の子どもはいません。")
        usable = {p: any(state.hub.policy.allows(subject, "child.view", p, relationship=r) for r in RELATIONSHIPS)
                  for p in PURPOSE_CHOICES}
        return render(request, state, "child_purpose.html", person_id=person_id, usable=usable,
                      purposes=PURPOSE_CHOICES)
    check_purpose(state, purpose)
    with state.reading() as session:
        view = open_child(session, subject, purpose, person_id, nodes=state.nodes(), manifests=state.manifests(),
                          cipher=state.cipher, key=state.key)
        carried = carried_for_page(session, subject, purpose, person_id, view.relationship, key=state.key)
        case_panel = read_case_panel(session, subject, purpose, person_id, view.relationship, cipher=state.cipher,
                                     key=state.key)
    may_review = state.hub.policy.allows(subject, "review.write", "assessment", relationship=view.relationship, sensitivity=3)
    may_observe = state.hub.policy.allows(subject, "observation.write", "assessment", relationship=view.relationship, sensitivity=2)
    may_history = state.hub.policy.allows(subject, "audit.read", "disclosure_handling")
    return render(request, state, "child.html", view=view, face=view.face, chart=trend_svg(view.trend),
                  attendance=stats_svg(attendance_chart(view.timeline)), may_review=may_review,
                  may_observe=may_observe, may_history=may_history, carried=carried,
                  case_panel=case_panel)


@router.get("/children/{person_id}/household")
def household_page(request: Request, state: State, subject: CurrentSubject, person_id: str,
                   purpose: str = "") -> Response:
    """世帯: the child's household for the purpose the child's page was opened for."""
    if not purpose:
        return RedirectResponse(f"/children/{quote(person_id)}", status_code=303)
    check_purpose(state, purpose)
    with state.reading() as session:
        view, sheet = household_view(session, subject, purpose, person_id, nodes=state.nodes(),
                                     manifests=state.manifests(), cipher=state.cipher, key=state.key)
    return render(request, state, "household.html", view=view, face=sheet)


@refills("/children/{person_id}/break-glass", on_refusal=True)
def _break_glass_again(request: Request, form: FormState) -> Response:
    """The break-glass form again, the justification kept and the reason it was refused beside it."""
    state: AppState = request.app.state.tsunagu
    may = state.hub.policy.role(request.state.account.role).break_glass
    return render(request, state, "error.html", title="緊急閲覧を開始できませんでした",
                  message="緊急閲覧は開始されていません（この試みは記録されました）。", refused=None, may_break_glass=may,
                  form=form, break_glass_open=True)


@router.post("/children/{person_id}/break-glass", dependencies=[CsrfForm])
def break_glass_open(
    state: State, subject: CurrentSubject, person_id: str, purpose: Annotated[str, Form()],
    justification: Annotated[str, Form()], minutes: Annotated[int, Form()] = 30,
) -> Response:
    check_purpose(state, purpose)
    with state.unit() as session:
        open_break_glass(session, subject, purpose, person_id, justification, minutes, key=state.key)
    return RedirectResponse(f"/children/{quote(person_id)}?purpose={quote(purpose)}", status_code=303)
