"""名寄せ確認: uncertain pairs side by side; a person decides, with a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.privacy import Subject
from tsunagu.web.deps import CsrfForm, CurrentSubject, RowId, State, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.linkreview import decide_pair, pending_pairs

router = APIRouter(include_in_schema=False)


@router.get("/link-review")
def link_review_page(request: Request, state: State, subject: CurrentSubject, saved: str = "") -> Response:
    return _page(request, state, subject, saved, NO_FORM)


@refills("/link-review/{pair_id}")
def _again(request: Request, form: FormState) -> Response:
    return _page(request, request.app.state.tsunagu, request.state.account.subject, "", form)


def _page(request: Request, state: AppState, subject: Subject, saved: str, form: FormState) -> Response:
    with state.unit() as session:
        pairs = pending_pairs(session, subject, state.nodes(), state.manifests(), key=state.key)
    return render(request, state, "link_review.html", pairs=pairs, saved=saved, form=form)


@router.post("/link-review/{pair_id}", dependencies=[CsrfForm])
def link_review_decide(state: State, subject: CurrentSubject, pair_id: RowId, decision: Annotated[str, Form()] = "",
                       reason: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        decide_pair(session, subject, pair_id, decision, reason, key=state.key)
    return RedirectResponse("/link-review?saved=1", status_code=303)
