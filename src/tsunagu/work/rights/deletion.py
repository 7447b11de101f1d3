"""削除（派生データの消去）: removing what the hub itself derived about one child.

Only hub rows go: the child's screening results, the derived household rows and, when a reason
is recorded, the human work records that no law requires the municipality to keep. The
department vaults are the departments' own (a request to erase their data goes to them), and
audit entries are never deleted here: the audit log keeps its own, longer period, and the
deletion itself is an access the family may later ask about.

Deleting derived data does not stop the next screening run from deriving it again; a family
that wants both asks for suspension of use (利用停止) as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete, func, select, update
from sqlalchemy.orm import Session

from tsunagu.link.models import HouseholdMember, Person
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.work.cases.models import Case, CaseContact, CaseEvent, CaseMeeting, LedgerEntry
from tsunagu.work.errors import Invalid
from tsunagu.work.models import CaseAssignment, FollowUp, Referral, Review, SupportPlan
from tsunagu.work.rights.models import DeletionRecord

MIN_WORK_REASON_CHARS = 10
TARGET_LABELS = {
    "screening_results": "スクリーニング結果",
    "household_members": "世帯の構成（派生データ）",
    "reviews": "二次アセスメント・観察記録",
    "support_plans": "支援方針（終結済み）",
    "referrals": "つなぎ（終結した支援方針のもの）",
    "follow_ups": "フォローアップ（終結した支援方針のもの）",
    "case_contacts": "連絡記録",
    "case_meetings": "個別ケース検討会議の記録",
    "case_events": "ケースの経過（状況・担当の変更）",
    "cases": "ケースの状況・担当",
    "ledger_entries": "進行管理台帳（終了したもの）",
}


@dataclass(frozen=True)
class DeletionScope:
    """What a deletion request asks for: derived data always; work records only with a reason."""

    work_records: bool = False
    work_reason: str = ""

    def check(self) -> None:
        if self.work_records and len(self.work_reason.strip()) < MIN_WORK_REASON_CHARS:
            raise Invalid(f"支援の記録を削除する理由を{MIN_WORK_REASON_CHARS}文字以上で記録してください。", field="work_reason")


@dataclass
class DeletionReport:
    person_id: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> str:
        parts = [f"{TARGET_LABELS.get(k, k)} {n}件" for k, n in self.rows.items() if n]
        return "、".join(parts) if parts else "削除対象はありませんでした"


def _delete(session: Session, statement: Delete) -> int:
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount or 0)


def _count(session: Session, model: type[object], *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def delete_derived(session: Session, person_id: str, scope: DeletionScope, *, actor: str,
                   request_id: int | None) -> DeletionReport:
    """Delete the child's derived hub rows (and closed work records if asked); record the counts.

    The caller has authorised the request (``requests.handle``) in this transaction.
    """
    scope.check()
    report = DeletionReport(person_id)
    plans = list(session.scalars(select(SupportPlan).where(SupportPlan.person_id == person_id)))
    if scope.work_records and any(p.status == "active" for p in plans):
        # An open plan is support in progress: ending it is a professional's decision, not a deletion.
        raise Invalid("支援中の支援方針があります。担当機関が終結してから、支援の記録を削除してください。")
    if scope.work_records and session.scalars(select(LedgerEntry.id).where(
            LedgerEntry.person_id == person_id, LedgerEntry.closed_on.is_(None))).first() is not None:
        # A registration with the 要対協 is protection in progress, as an open plan is.
        raise Invalid("要保護児童対策地域協議会の進行管理中です。進行管理を終了してから、支援の記録を削除してください。")
    report.rows["screening_results"] = _delete(
        session, delete(ScreeningResult).where(ScreeningResult.person_id == person_id))
    report.rows["household_members"] = _delete(
        session, delete(HouseholdMember).where(HouseholdMember.person_id == person_id))
    session.execute(update(Person).where(Person.person_id == person_id).values(household_id=None))
    if scope.work_records:
        plan_ids = [p.id for p in plans]
        report.rows["follow_ups"] = _delete(session, delete(FollowUp).where(FollowUp.plan_id.in_(plan_ids)))
        report.rows["referrals"] = _delete(session, delete(Referral).where(Referral.plan_id.in_(plan_ids)))
        report.rows["support_plans"] = _delete(session, delete(SupportPlan).where(SupportPlan.id.in_(plan_ids)))
        report.rows["reviews"] = _delete(session, delete(Review).where(Review.person_id == person_id))
        _delete_case(session, person_id, report)
    now = datetime.now(UTC)
    reason = f"削除請求（受付番号 {request_id}）" if request_id is not None else "削除請求"
    if scope.work_records:
        reason += f"。支援の記録を削除する理由: {scope.work_reason.strip()}"
    for target, rows in report.rows.items():
        session.add(DeletionRecord(at=now, cause="request", request_id=request_id, actor=actor, person_id=person_id,
                                   target=target, rows=rows, reason=reason))
    session.flush()
    session.expire_all()  # ORM objects of deleted rows must not be used after this
    return report


def _delete_case(session: Session, person_id: str, report: DeletionReport) -> None:
    """The case records (migration 0011); the access the case's ownership gave ends with them."""
    case = session.scalars(select(Case).where(Case.person_id == person_id)).first()
    if case is not None and case.assignment_id is not None:
        session.execute(update(CaseAssignment).where(CaseAssignment.id == case.assignment_id,
                                                     CaseAssignment.ended_at.is_(None)).values(ended_at=datetime.now(UTC)))
    for target, model in (("case_contacts", CaseContact), ("case_meetings", CaseMeeting), ("case_events", CaseEvent),
                          ("cases", Case), ("ledger_entries", LedgerEntry)):
        report.rows[target] = _delete(session, delete(model).where(model.person_id == person_id))


def pending_counts(session: Session, person_id: str) -> dict[str, int]:
    """What a deletion would remove now (shown before the officer completes the request)."""
    return {
        "screening_results": _count(session, ScreeningResult, ScreeningResult.person_id == person_id),
        "household_members": _count(session, HouseholdMember, HouseholdMember.person_id == person_id),
        "reviews": _count(session, Review, Review.person_id == person_id),
        "support_plans": _count(session, SupportPlan, SupportPlan.person_id == person_id),
    }
