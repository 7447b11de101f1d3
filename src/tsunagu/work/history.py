"""How the candidate list changed over the screening runs: aggregates for the dashboard's chart.

Counts only (no child is named), over the whole municipality: the caller shows them to a role whose
list scope is the municipality, after that scope was decided and recorded (``candidates.dashboard``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun

LISTED_TIERS = ("重点支援", "予防的支援", "見守り")
RUNS_SHOWN = 12


@dataclass(frozen=True)
class RunPoint:
    as_of: date
    listed: int
    new: int  # listed in this run and not in the one before (every listed child, for the first run)


def listing_history(session: Session, runs: int = RUNS_SHOWN) -> list[RunPoint]:
    """The last ``runs`` screening runs, oldest first: how many children were listed and how many newly."""
    found = session.execute(select(ScreeningRun.run_id, ScreeningRun.as_of)
                            .order_by(ScreeningRun.as_of.desc(), ScreeningRun.started_at.desc())
                            .limit(runs + 1)).all()[::-1]
    points: list[RunPoint] = []
    previous: set[str] | None = None
    for index, (run_id, as_of) in enumerate(found):
        listed = set(session.scalars(select(ScreeningResult.person_id).where(
            ScreeningResult.run_id == run_id, ScreeningResult.tier.in_(LISTED_TIERS))))
        # the run before the window is only the baseline of the first one shown
        if index > 0 or len(found) <= runs:
            points.append(RunPoint(as_of, len(listed), len(listed - previous) if previous is not None else len(listed)))
        previous = listed
    return points
