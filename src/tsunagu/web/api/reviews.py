"""POST /api/reviews: record a second-stage review (CSRF token in the X-CSRF-Token header)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tsunagu.web.deps import CsrfHeader, CurrentSubject, State, check_purpose
from tsunagu.web.errors import API_ERRORS
from tsunagu.work.reviews import Observation, ReviewView, record_review

router = APIRouter(prefix="/api", tags=["二次アセスメント"], responses=API_ERRORS)


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aspect: str = Field(description="観点（attendance, appearance, nutrition, relationships, learning, mood, home）")
    level: str = Field(description="段階（none, some, serious, unknown）")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: str
    purpose: str = "assessment"
    decision: str = Field(description="support / watch / no_action")
    rationale: str = Field(description="判断の根拠（暗号化して保存）")
    observations: list[ObservationIn] = Field(default_factory=list)
    override_reason: str = Field(default="", description="スクリーニングの区分と異なる判断の理由（その場合は必須）")
    run_id: str | None = None


@router.post("/reviews", response_model=ReviewView, status_code=201, dependencies=[CsrfHeader],
             summary="二次アセスメントを記録する")
def api_review(state: State, subject: CurrentSubject, body: ReviewIn) -> ReviewView:
    check_purpose(state, body.purpose)
    with state.unit() as session:
        return record_review(
            session, subject, body.purpose, body.person_id, decision=body.decision, rationale=body.rationale,
            observations=[Observation(o.aspect, o.level) for o in body.observations],
            override_reason=body.override_reason, run_id=body.run_id, cipher=state.cipher, key=state.key,
        )
