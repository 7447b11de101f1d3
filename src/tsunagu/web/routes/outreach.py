"""プッシュ型支援: the running department's list of families eligible and not receiving, the outcomes,
and what a family asked for at the counter or on the phone: no more notices, or another language."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.outreach.errors import UnknownProgrammeError
from tsunagu.outreach.lists import department_programmes, gap_list, outcomes_summary
from tsunagu.outreach.notices import record_language, record_opt_out
from tsunagu.outreach.pdf import LANGUAGE_LABELS
from tsunagu.outreach.programmes import ProgrammeSet, load_programmes
from tsunagu.privacy import Subject
from tsunagu.web.deps import CsrfForm, CurrentSubject, State, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState

router = APIRouter(include_in_schema=False)

SAVED = {"optout": "案内の停止の申出を記録しました。次の発送から、この世帯には案内を送りません。",
         "language": "案内の言語を記録しました。次の発送から、この言語で案内を作ります。"}


@lru_cache(maxsize=4)
def _programmes(rules: Path, code: str | None) -> ProgrammeSet:
    return load_programmes(rules, code)


def _page(request: Request, state: AppState, subject: Subject, programme: str, page: int, saved: str,
          form: FormState) -> Response:
    programmes = _programmes(state.settings.rules_path, state.settings.municipality_code)
    # An unknown programme is an UnknownProgrammeError (422), shown by the error page.
    with state.reading() as session:
        listing = gap_list(session, subject, programmes, state.nodes(), programme=programme or None, page=page,
                           key=state.key)
    return render(request, state, "outreach.html", listing=listing, programme=programme, form=form,
                  languages=LANGUAGE_LABELS, message=SAVED.get(saved, ""))


@router.get("/outreach")
def outreach_page(request: Request, state: State, subject: CurrentSubject, programme: str = "",
                  page: Annotated[int, Query(ge=1)] = 1, saved: str = "") -> Response:
    return _page(request, state, subject, programme, page, saved, NO_FORM)


@refills("/outreach/people/{person_id}/opt-out", "/outreach/people/{person_id}/language")
def _page_again(request: Request, form: FormState) -> Response:
    return _page(request, request.app.state.tsunagu, request.state.account.subject, "", 1, "", form)


@router.post("/outreach/people/{person_id}/opt-out", dependencies=[CsrfForm])
def opt_out(state: State, subject: CurrentSubject, person_id: str, reason: Annotated[str, Form()] = "",
            programme: Annotated[str, Form()] = "") -> Response:
    """The family asked for no more notices: from every programme of this department, or one."""
    with state.unit() as session:
        record_opt_out(session, subject, person_id, reason, programme or None, key=state.key)
        if programme:  # one of this department's programmes, or nothing is recorded
            programmes = _programmes(state.settings.rules_path, state.settings.municipality_code)
            try:
                department_programmes(programmes, subject.organisation, programme)
            except UnknownProgrammeError as exc:
                raise UnknownProgrammeError(exc.message, field="programme") from exc
    return RedirectResponse("/outreach?saved=optout", status_code=303)


@router.post("/outreach/people/{person_id}/language", dependencies=[CsrfForm])
def language(state: State, subject: CurrentSubject, person_id: str,
             language: Annotated[str, Form()] = "") -> Response:
    """The language the family asked to be written to in (wins over what the register suggests)."""
    with state.unit() as session:
        record_language(session, subject, person_id, language, key=state.key)
    return RedirectResponse("/outreach?saved=language", status_code=303)


@router.get("/outreach/outcomes")
def outreach_outcomes(request: Request, state: State, subject: CurrentSubject) -> Response:
    programmes = _programmes(state.settings.rules_path, state.settings.municipality_code)
    with state.reading() as session:
        summary = outcomes_summary(session, subject, programmes, key=state.key)
    return render(request, state, "outreach_outcomes.html", summary=summary)
