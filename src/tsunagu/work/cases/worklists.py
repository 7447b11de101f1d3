"""The worklists: 自分の担当, 未割当 and 期限切れのフォロー, within the user's scope (``case.list``).

Each child listed gets its own audit entry (as on the candidate list); suspended children are left
out. Overdue items are the plans' open follow-ups past their date and the cases whose last
個別ケース検討会議 set a review date that has passed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.privacy import Subject
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.vault.node import Node
from tsunagu.work.access import list_scope, record_listed, suspended_persons
from tsunagu.work.cases.models import Case, CaseMeeting
from tsunagu.work.cases.names import NAME_ITEM, identities
from tsunagu.work.cases.status import CLOSED, OPEN_STATUSES, STATUS_SENSITIVITY, UNCHECKED, names
from tsunagu.work.errors import Invalid
from tsunagu.work.models import FollowUp, SupportPlan

KINDS = {"mine": "自分の担当", "unassigned": "未割当", "overdue": "期限切れのフォロー"}
ACTION = "case.list"
# A page of a worklist: each child shown is one signed audit entry and one name asked of the registry,
# so a long list (the demo's 300 unassigned cases took 1.1 s whole) is paged like the candidate list.
PER_PAGE = 50


@dataclass(frozen=True)
class WorkRow:
    person_id: str
    status: str
    owner_name: str
    team: str
    tier: str | None
    school_code: str | None
    due_on: date | None  # the overdue list: the date that passed
    what: str  # the overdue list: what is due (フォローアップ / 会議の見直し)
    updated_at: datetime | None
    name: str = ""  # from the resident registry, when the page asked for names


@dataclass(frozen=True)
class WorkList:
    rows: list[WorkRow]
    total: int
    page: int
    pages: int


def latest_schools_and_tiers(session: Session, person_ids: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
    """Each child's school and tier in the newest run that has the child, for many children in two queries."""
    wanted = set(person_ids)
    found: dict[str, tuple[str | None, str | None]] = {}
    if not wanted:
        return found
    rows = session.execute(
        select(ScreeningResult.person_id, ScreeningResult.school_code, ScreeningResult.tier)
        .join(ScreeningRun, ScreeningRun.run_id == ScreeningResult.run_id)
        .where(ScreeningResult.person_id.in_(wanted))
        .order_by(ScreeningRun.as_of.desc(), ScreeningRun.started_at.desc())).all()
    for pid, school, tier in rows:
        found.setdefault(pid, (school, tier))  # newest first: the first row of each child is its latest
    return found


def worklist(
    session: Session, subject: Subject, kind: str, purpose: str, *, today: date | None = None,
    key: Ed25519PrivateKey | None = None, nodes: Mapping[str, Node] | None = None, page: int = 1,
    per_page: int = PER_PAGE,
) -> WorkList:
    if kind not in KINDS:
        raise Invalid("一覧の種類が正しくありません。")
    scope, decision = list_scope(session, subject, ACTION, purpose, sensitivity=STATUS_SENSITIVITY, key=key)
    hidden = suspended_persons(session)
    cases = {c.person_id: c for c in session.scalars(select(Case))}
    found: list[tuple[str, date | None, str]] = []
    if kind == "mine":
        found = [(c.person_id, None, "") for c in cases.values() if c.owner == subject.user_id and c.status != CLOSED]
    elif kind == "unassigned":
        found = [(c.person_id, None, "") for c in cases.values() if c.owner is None and c.status in OPEN_STATUSES]
    else:
        day = today or datetime.now(UTC).date()
        follow = session.execute(
            select(SupportPlan.person_id, func.min(FollowUp.due_on)).join(SupportPlan, SupportPlan.id == FollowUp.plan_id)
            .where(FollowUp.done.is_(False), FollowUp.due_on < day).group_by(SupportPlan.person_id)).all()
        found = [(pid, due, "フォローアップ") for pid, due in follow]
        last_meetings = session.execute(select(CaseMeeting.person_id, func.max(CaseMeeting.held_on))
                                        .group_by(CaseMeeting.person_id)).all()
        for pid, held in last_meetings:
            meeting = session.scalars(select(CaseMeeting).where(CaseMeeting.person_id == pid,
                                                                CaseMeeting.held_on == held)).first()
            case = cases.get(pid)
            if meeting is not None and meeting.next_review_on is not None and meeting.next_review_on < day and \
                    (case is None or case.status != CLOSED):
                found.append((pid, meeting.next_review_on, "会議で決めた見直し"))
    if page < 1:
        raise Invalid("ページの指定が正しくありません。")
    latest = latest_schools_and_tiers(session, (pid for pid, _d, _w in found))
    rows = []
    for pid, due, what in found:
        school, tier = latest.get(pid, (None, None))
        if pid in hidden or not scope.covers(pid, school):
            continue
        case = cases.get(pid)
        rows.append(WorkRow(pid, case.status if case else UNCHECKED, case.owner or "" if case else "",
                            case.team if case else "", tier, school, due, what, case.updated_at if case else None))
    rows.sort(key=lambda r: (r.due_on or date.max, r.person_id))
    total = len(rows)
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    rows = rows[(page - 1) * per_page: page * per_page]
    who = names(session, [r.owner_name for r in rows])
    named = identities(session, subject, purpose, [r.person_id for r in rows], nodes) if nodes is not None else {}
    rows = [WorkRow(**{**r.__dict__, "owner_name": who.get(r.owner_name, ""),
                       "name": named[r.person_id].name if r.person_id in named else ""}) for r in rows]
    record_listed(session, subject, decision, ACTION, purpose, [r.person_id for r in rows], key=key,
                  items=(NAME_ITEM,) if named else ())
    return WorkList(rows, total, page, pages)
