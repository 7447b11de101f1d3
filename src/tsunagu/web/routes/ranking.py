"""学習による並べ替え（データ担当）: the newest version's model card, its shadow results in aggregate, approval.

The steward sees no child here (the role has no child detail): counts, the card, and the button
that puts a shadow version in use — recorded in the audit chain by the service.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.privacy import Subject, authorise
from tsunagu.screen.runs.truth import latest_run_id
from tsunagu.web.deps import CsrfForm, CurrentSubject, State, render
from tsunagu.web.state import AppState
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.ranking import service
from tsunagu.work.ranking.models import SHADOW, STATUS_LABELS, RankingScore, RankingVersion

router = APIRouter(include_in_schema=False)


def _check(session: Session, subject: Subject, action: str, state: AppState) -> None:
    decision = authorise(session, subject, action, "administration", key=state.key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def _context(session: Session) -> dict[str, Any]:
    row = session.scalars(select(RankingVersion).order_by(RankingVersion.created_at.desc()).limit(1)).first()
    if row is None:
        return {"version": None}
    run_id = latest_run_id(session)
    scored = proposed = 0
    if run_id is not None:
        base = select(func.count()).select_from(RankingScore).where(RankingScore.run_id == run_id,
                                                                    RankingScore.version == row.version)
        scored = session.scalar(base) or 0
        proposed = session.scalar(base.where(RankingScore.proposed)) or 0
    return {"version": row.version, "status": row.status, "status_label": STATUS_LABELS.get(row.status, row.status),
            "card": json.loads(row.card_json), "scored": scored, "proposed": proposed, "shadow": row.status == SHADOW}


@router.get("/ranking")
def ranking_page(request: Request, state: State, subject: CurrentSubject, saved: str = "") -> Response:
    with state.unit() as session:
        _check(session, subject, "ranking.manage", state)
        context = _context(session)
    return render(request, state, "ranking.html", saved=saved, error="", **context)


@router.post("/ranking/approve", dependencies=[CsrfForm])
def ranking_approve(request: Request, state: State, subject: CurrentSubject,
                    version: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        _check(session, subject, "ranking.approve", state)
        context = _context(session)
        if not context["version"] or not context["shadow"]:
            # A stale page: nothing is waiting for approval any more.
            return RedirectResponse("/ranking?saved=none", status_code=303)
        try:
            service.approve(session, subject, version or context["version"], key=state.key)
        except Invalid as exc:
            session.rollback()
            return render(request, state, "ranking.html", saved="", error=exc.message, status_code=422, **context)
    return RedirectResponse("/ranking?saved=1", status_code=303)
