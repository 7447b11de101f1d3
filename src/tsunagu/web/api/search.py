"""GET /api/search: こどもの検索 as JSON (same scope, purpose and audit as the page)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from tsunagu.web.deps import CurrentSubject, State
from tsunagu.web.errors import API_ERRORS
from tsunagu.web.routes.search import run_search
from tsunagu.web.state import grade_label
from tsunagu.work.search import KIND_LABELS

router = APIRouter(prefix="/api", tags=["検索"], responses=API_ERRORS)


class FoundChild(BaseModel):
    person_id: str
    name: str
    reading: str
    birth_date: date | None
    school_code: str | None
    school_name: str | None
    grade: int | None
    grade_label: str
    school_class: str  # 2組, where the roster releases it for the purpose and the user may see it; else empty
    tier: str


class SearchAnswer(BaseModel):
    total: int
    truncated: bool
    indexed: bool
    term_kinds: list[str]
    # As searched: the school chosen (or the user's own, for a class typed as 3年2組), the grade
    # chosen or typed with the class, and the class (2組), empty when none was typed.
    school_code: str | None
    grade: int | None
    class_label: str
    results: list[FoundChild]


@router.get("/search", response_model=SearchAnswer, summary="こどもの検索（氏名・よみ・生年月日・宛名番号・学校・学年・組）")
def api_search(
    state: State, subject: CurrentSubject,
    q: Annotated[str, Query(max_length=200, description="検索語（空白で区切る。すべてに一致する子ども。組は 3年2組 のように）")] = "",
    purpose: Annotated[str, Query(description="利用目的（screening / assessment）")] = "screening",
    school: Annotated[str, Query(max_length=20, description="学校コード")] = "",
    grade: Annotated[str, Query(description="学年（1〜9、中学1年は7）")] = "",
) -> SearchAnswer:
    result = run_search(state, subject, q, purpose, school, grade)
    names = state.school_names()
    return SearchAnswer(
        total=result.total, truncated=result.truncated, indexed=result.indexed,
        term_kinds=[KIND_LABELS[k] for w in result.words for k in w.kinds],
        school_code=result.school, grade=result.grade, class_label=result.class_label,
        results=[FoundChild(person_id=r.person_id, name=r.name, reading=r.reading, birth_date=r.birth_date,
                            school_code=r.school_code, school_name=names.get(r.school_code or ""),
                            grade=r.grade, grade_label=grade_label(r.grade), school_class=r.school_class,
                            tier=r.tier) for r in result.rows],
    )
