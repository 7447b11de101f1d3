"""プッシュ型支援: the running department's list of families eligible and not receiving, and the outcomes."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tsunagu.outreach.lists import gap_list, outcomes_summary
from tsunagu.outreach.programmes import ProgrammeSet, load_programmes
from tsunagu.web.deps import CurrentSubject, State, render

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=4)
def _programmes(rules: Path, code: str | None) -> ProgrammeSet:
    return load_programmes(rules, code)


@router.get("/outreach")
def outreach_page(request: Request, state: State, subject: CurrentSubject, programme: str = "",
                  page: Annotated[int, Query(ge=1)] = 1) -> Response:
    programmes = _programmes(state.settings.rules_path, state.settings.municipality_code)
    # An unknown programme is an UnknownProgrammeError (422), shown by the error page.
    with state.reading() as session:
        listing = gap_list(session, subject, programmes, state.nodes(), programme=programme or None, page=page,
                           key=state.key)
    return render(request, state, "outreach.html", listing=listing, programme=programme)


@router.get("/outreach/outcomes")
def outreach_outcomes(request: Request, state: State, subject: CurrentSubject) -> Response:
    programmes = _programmes(state.settings.rules_path, state.settings.municipality_code)
    with state.reading() as session:
        summary = outcomes_summary(session, subject, programmes, key=state.key)
    return render(request, state, "outreach_outcomes.html", summary=summary)
