"""候補一覧: filter, sort, paginate; CSV export with formula cells escaped."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from tsunagu.csvout import write_rows
from tsunagu.screen.model import DOMAINS
from tsunagu.web.deps import CurrentSubject, State, check_purpose, render
from tsunagu.work.candidates import LISTED_TIERS, OWNER_FILTERS, SORTS, CandidateFilter, list_candidates
from tsunagu.work.cases.status import STATUSES

router = APIRouter(include_in_schema=False)
LIST_PURPOSES = ("screening", "assessment")


def _blank_none(value: str | None) -> str | None:
    return value if value not in (None, "") else None


def candidate_filter(
    school: str | None = None, grade: str | None = None, tier: str | None = None, domain: str | None = None,
    first: bool = False, worsened: bool = False, no_mark: bool = False, sort: str = "tier",
    status: str | None = None, owner: str | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> CandidateFilter:
    """Query parameters as the filter form sends them (empty fields mean "any")."""
    grade_text = _blank_none(grade)
    return CandidateFilter(
        school=_blank_none(school), grade=int(grade_text) if grade_text and grade_text.isdigit() else None,
        tier=_blank_none(tier), domain=_blank_none(domain), first_only=first, worsened_only=worsened,
        no_mark_only=no_mark, status=_blank_none(status), owner=_blank_none(owner), sort=sort or "tier", page=page,
    )


Filters = Annotated[CandidateFilter, Depends(candidate_filter)]


@router.get("/candidates")
def candidates_page(request: Request, state: State, subject: CurrentSubject, filters: Filters,
                    purpose: str = "screening") -> Response:
    check_purpose(state, purpose)
    with state.reading() as session:
        page = list_candidates(session, subject, purpose, filters, key=state.key)
    query = request.url.query
    return render(request, state, "candidates.html", page=page, filters=filters, purpose=purpose,
                  tiers=LISTED_TIERS, domains=DOMAINS, sorts=SORTS, list_purposes=LIST_PURPOSES,
                  case_statuses=STATUSES, owner_filters=OWNER_FILTERS,
                  export_query=query)


@router.get("/candidates.csv")
def candidates_csv(state: State, subject: CurrentSubject, filters: Filters, purpose: str = "screening") -> Response:
    check_purpose(state, purpose)
    with state.reading() as session:
        page = list_candidates(session, subject, purpose, filters, paginate=False, key=state.key)
    handle = io.StringIO()
    case_header = ["ケースの状況", "担当者"] if page.cases_visible else []
    write_rows(
        handle,
        ["個人ID", "支援区分", "領域", "ノーマーク", "初回", "前回比", "学校", "学年", "古いデータ", *case_header, "理由"],
        ([r.person_id, r.tier, "・".join(r.domain_labels), _no_mark(r.no_mark, r.case_known),
          "はい" if r.first_flag else "", r.trend_label, r.school_code or "", r.grade or "", r.stale_reasons,
          *([r.case_status, r.case_owner] if page.cases_visible else []), " / ".join(x.label for x in r.reasons)]
         for r in page.rows),
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    # BOM: spreadsheet software on Japanese Windows reads UTF-8 CSV correctly only with it.
    return Response("\ufeff" + handle.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="candidates_{stamp}.csv"'})


def _no_mark(no_mark: bool, known: bool) -> str:
    if not no_mark:
        return ""
    return "抽出時はノーマーク" if known else "はい"
