"""ダッシュボード: the latest run in the user's scope, and the user's open follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tsunagu.outreach.inputs import HOUSEHOLD_SOURCE
from tsunagu.web.charts import history_chart, tier_chart
from tsunagu.web.deps import CurrentSubject, State, render
from tsunagu.work.candidates import dashboard
from tsunagu.work.history import listing_history
from tsunagu.work.plans import open_follow_ups

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
def dashboard_page(request: Request, state: State, subject: CurrentSubject) -> Response:
    with state.reading() as session:
        board = dashboard(session, subject, key=state.key)
        follow_ups = open_follow_ups(session, subject.user_id)
        # the whole municipality's counts, only for a role whose list is the whole municipality
        history = listing_history(session) if board.allowed and board.scope == "municipality" else []
    # the household view the screening derives from the resident register has no manifest of its own
    labels = {HOUSEHOLD_SOURCE: "世帯の構成（住民記録から作成）",
              **{m.source: m.label for m in state.manifests().manifests.values()}}
    return render(request, state, "dashboard.html", board=board, follow_ups=follow_ups,
                  today=datetime.now(UTC).date(), source_labels=labels,
                  tiers_svg=tier_chart(board.by_tier) if board.allowed and board.run else "",
                  history_svg=history_chart(history))
