"""GET /api/candidates: the candidate list as JSON (same scope, filters and audit as the page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tsunagu.web.deps import CurrentSubject, State, check_purpose
from tsunagu.web.errors import API_ERRORS
from tsunagu.web.routes.candidates import Filters
from tsunagu.work.candidates import CandidatePage, list_candidates

router = APIRouter(prefix="/api", tags=["候補一覧"], responses=API_ERRORS)


@router.get("/candidates", response_model=CandidatePage, summary="支援候補者の一覧（最新のスクリーニング実行）")
def api_candidates(
    state: State, subject: CurrentSubject, filters: Filters,
    purpose: Annotated[str, Query(description="利用目的（screening / assessment）")] = "screening",
) -> CandidatePage:
    check_purpose(state, purpose)
    with state.reading() as session:
        return list_candidates(session, subject, purpose, filters, key=state.key)
