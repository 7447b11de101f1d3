"""The worklists: 自分の担当, 未割当 and 期限切れのフォロー, within the user's scope (``case.list``).

Each child listed gets its own audit entry (as on the candidate list); suspended children are left
out. Overdue items are the plans' open follow-ups past their date and the cases whose last
個別ケース検討会議 set a review date that has passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.privacy import Subject
from tsunagu.vault.node import Node
from tsunagu.work.access import latest_result, list_scope, record_listed, suspended_persons
from tsunagu.work.cases.models import Case, CaseMeeting
from tsunagu.work.cases.names import NAME_ITEM, identities
from tsunagu.work.cases.status import CLOSED, OPEN_STATUSES, STATUS_SENSITIVITY, UNCHECKED, names
from tsunagu.work.errors import Invalid
from tsunagu.work.models import FollowUp, SupportPlan

KINDS = {"mine": "自分の担当", "unassigned": "未割当", "overdue": "期限切れのフォロー"}
ACTION = "case.list"


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


def worklist(
    session: Session, subject: Subject, kind: str, purpose: str, *, today: date | None = None,
    key: Ed25519PrivateKey | None = None, nodes: Mapping[str, Node] | None = None,
) -> list[WorkRow]:
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
        latest = session.execute(select(CaseMeeting.person_id, func.max(CaseMeeting.held_on))
                                 .group_by(CaseMeeting.person_id)).all()
        for pid, held in latest:
            meeting = session.scalars(select(CaseMeeting).where(CaseMeeting.person_id == pid,
                                                                CaseMeeting.held_on == held)).first()
            case = cases.get(pid)
            if meeting is not None and meeting.next_review_on is not None and meeting.next_review_on < day and \
                    (case is None or case.status != CLOSED):
                found.append((pid, meeting.next_review_on, "会議で決めた見直し"))
    rows = []
    for pid, due, what in found:
        if pid in hidden:
            continue
        result = latest_result(session, pid)
        school = result.school_code if result is not None else None
        if not scope.covers(pid, school):
            continue
        case = cases.get(pid)
        rows.append(WorkRow(pid, case.status if case else UNCHECKED, case.owner or "" if case else "",
                            case.team if case else "", result.tier if result is not None else None, school, due, what,
                            case.updated_at if case else None))
    who = names(session, [r.owner_name for r in rows])
    named = identities(session, subject, purpose, [r.person_id for r in rows], nodes) if nodes is not None else {}
    rows = [WorkRow(**{**r.__dict__, "owner_name": who.get(r.owner_name, ""),
                       "name": named[r.person_id].name if r.person_id in named else ""}) for r in rows]
    rows.sort(key=lambda r: (r.due_on or date.max, r.person_id))
    record_listed(session, subject, decision, ACTION, purpose, [r.person_id for r in rows], key=key,
                  items=(NAME_ITEM,) if named else ())
    return rows
