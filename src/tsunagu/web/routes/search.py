"""こどもの検索: the page (``/search``) and the box in every staff page's header."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tsunagu.web.deps import CurrentSubject, State, may_search, render
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.search import SearchResult, search_children

router = APIRouter(include_in_schema=False)
SEARCH_PATHS = ("/search", "/api/search")


class SearchTermsHidden(logging.Filter):
    """The web server's access log names each request's path with its query: a search's would be a
    child's name or birth date in clear in a log file, which the audit chain itself avoids (see
    ``work.search``). The query of a search is dropped from the line; the rest stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, _, query = args[2].partition("?")
            if query and path in SEARCH_PATHS:
                record.args = (*args[:2], f"{path}?（検索語は記録しません）", *args[3:])
        return True


# uvicorn's access logger, in every process that serves the app (each worker imports this module).
logging.getLogger("uvicorn.access").addFilter(SearchTermsHidden())
# The purposes a search may be made for: the candidate list's (finding a child to screen or assess
# it); the policy grants ``children.search`` for these only.
SEARCH_PURPOSES = ("screening", "assessment")


def grade_number(text: str | None) -> int | None:
    """The form's 学年 (1–9, 中学1年 = 7); empty means any, anything else is refused."""
    if text in (None, ""):
        return None
    if not str(text).isdigit():
        raise Invalid("学年の指定が正しくありません。")
    return int(str(text))


def check_may_search(state: State, subject: CurrentSubject) -> None:
    """A role the policy gives no search is refused before anything is read (the empty form included)."""
    if not may_search(state.hub.policy, subject):
        raise Refused("拒否（権限なし）: あなたの役割ではこどもの検索はできません。")


def run_search(state: State, subject: CurrentSubject, q: str, purpose: str, school: str | None,
               grade: str | None) -> SearchResult:
    check_may_search(state, subject)
    if purpose not in SEARCH_PURPOSES:
        raise Invalid("利用目的を選んでください。")
    with state.reading() as session:
        return search_children(session, subject, purpose, q, secret=state.hub.search_secret, nodes=state.nodes(),
                               manifests=state.manifests(), school=school or None, grade=grade_number(grade),
                               key=state.key)


@router.get("/search")
def search_page(request: Request, state: State, subject: CurrentSubject,
                q: Annotated[str, Query(max_length=200)] = "", purpose: str = "screening",
                school: Annotated[str, Query(max_length=20)] = "", grade: str = "") -> Response:
    check_may_search(state, subject)
    form = {"q": q, "purpose": purpose, "school": school, "grade": grade}
    asked = bool(q.strip() or school)
    result: SearchResult | None = None
    error = ""
    if asked:
        try:
            result = run_search(state, subject, q, purpose, school, grade)
        except Invalid as exc:  # shown beside the box, what was typed kept
            error = exc.message_ja
    return render(request, state, "search.html", status_code=400 if error else 200, form=form, result=result,
                  error=error, search_purposes=SEARCH_PURPOSES, school_choices=state.school_names())
