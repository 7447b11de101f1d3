"""支援方針・つなぎ・フォローアップ: from a plan to a referral, followed until its outcome.

A plan closes only when every referral has an outcome and every follow-up is done, so no child
is "closed" while a connection to support is still unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject
from tsunagu.privacy.policy import Policy, policy_of
from tsunagu.work.access import RELATIONSHIPS, guard, suspended_persons
from tsunagu.work.cases import status as case_status
from tsunagu.work.errors import Invalid, NotFound
from tsunagu.work.models import FollowUp, Referral, Review, SupportPlan, SupportResource, User
from tsunagu.work.notes import seal, unseal

PLAN_STATUSES = {"active": "支援中", "closed": "終結"}
REFERRAL_STATUSES = {"proposed": "提案", "referred": "紹介済み", "connected": "利用開始", "closed": "終了"}
OUTCOMES = {
    "using": "支援につながった（利用中・利用した）",
    "declined": "本人・家庭が希望しなかった",
    "not_eligible": "対象外だった",
    "no_contact": "連絡がつかなかった",
    "other": "その他",
}


@dataclass(frozen=True)
class FollowUpView:
    id: int
    plan_id: int
    person_id: str
    referral_id: int | None
    due_on: date
    owner: str
    done: bool
    done_at: datetime | None
    note: str | None


@dataclass(frozen=True)
class ReferralView:
    id: int
    plan_id: int
    resource_id: int
    resource_name: str
    status: str
    status_label: str
    outcome: str | None
    outcome_label: str
    note: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PlanView:
    id: int
    person_id: str
    review_id: int | None
    goals: str | None  # None: the reader may not see free text
    responsible_body: str
    next_review_on: date | None
    status: str
    status_label: str
    closure_note: str | None
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    referrals: tuple[ReferralView, ...]
    follow_ups: tuple[FollowUpView, ...]


def _plan(session: Session, plan_id: int) -> SupportPlan:
    plan = session.get(SupportPlan, plan_id)
    if plan is None:
        raise NotFound(f"支援方針 {plan_id} はありません。")
    return plan


def plan_person(session: Session, plan_id: int) -> str:
    return _plan(session, plan_id).person_id


def referral_person(session: Session, referral_id: int) -> str:
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound(f"つなぎ {referral_id} はありません。")
    return plan_person(session, referral.plan_id)


def follow_up_person(session: Session, follow_up_id: int) -> str:
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise NotFound(f"フォローアップ {follow_up_id} はありません。")
    return plan_person(session, follow_up.plan_id)


def _active(plan: SupportPlan) -> None:
    if plan.status != "active":
        raise Invalid("この支援方針は終結しています。新しい支援方針を作成してください。")


def create_plan(
    session: Session, subject: Subject, purpose: str, person_id: str, *, goals: str, responsible_body: str,
    next_review_on: date | None, review_id: int | None = None, cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None,
) -> PlanView:
    guard(session, subject, "plan.write", purpose, person_id, sensitivity=3, key=key)
    if not goals.strip():
        raise Invalid("支援の目標を入力してください。", field="goals")
    if not responsible_body.strip():
        raise Invalid("主に担当する機関を入力してください。", field="responsible_body")
    if review_id is not None:
        review = session.get(Review, review_id)
        if review is None or review.person_id != person_id:
            raise Invalid("この子どもの二次アセスメントではありません。", field="review_id")
    now = datetime.now(UTC)
    row = SupportPlan(person_id=person_id, review_id=review_id, goals_enc=cipher.encrypt(goals.strip()),
                      responsible_body=responsible_body.strip(), next_review_on=next_review_on, status="active",
                      created_by=subject.user_id, created_at=now)
    session.add(row)
    session.flush()
    case_status.on_plan(session, subject, person_id, cipher)
    return _view(session, row, cipher, True)


def add_referral(
    session: Session, subject: Subject, purpose: str, plan_id: int, *, resource_id: int, note: str = "",
    cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
) -> ReferralView:
    plan = _plan(session, plan_id)
    guard(session, subject, "referral.write", purpose, plan.person_id, sensitivity=3, key=key)
    _active(plan)
    resource = session.get(SupportResource, resource_id)
    if resource is None or not resource.active:
        raise Invalid("その社会資源は登録されていないか、廃止されています。", field="resource_id")
    now = datetime.now(UTC)
    row = Referral(plan_id=plan.id, resource_id=resource.id, status="proposed", note_enc=seal(cipher, note),
                   created_by=subject.user_id, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return _referral_view(row, resource.name, cipher, True)


def update_referral(
    session: Session, subject: Subject, purpose: str, referral_id: int, *, status: str, outcome: str | None = None,
    note: str = "", cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
) -> ReferralView:
    person_id = referral_person(session, referral_id)
    guard(session, subject, "referral.write", purpose, person_id, sensitivity=3, key=key)
    row = session.get(Referral, referral_id)
    assert row is not None  # referral_person found it
    if status not in REFERRAL_STATUSES:
        raise Invalid(f"つなぎの状況は {'・'.join(REFERRAL_STATUSES.values())} のいずれかです。", field="status")
    if row.status == "closed":
        raise Invalid("このつなぎは終了しています。")
    if status == "closed" and outcome not in OUTCOMES:
        raise Invalid("つなぎを終了するには結果を選んでください。", field="outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise Invalid("つなぎの結果が正しくありません。", field="outcome")
    row.status, row.outcome, row.updated_at = status, outcome or row.outcome, datetime.now(UTC)
    if note.strip():
        previous = unseal(cipher, row.note_enc)
        row.note_enc = seal(cipher, f"{previous}\n{note.strip()}" if previous else note)
    session.flush()
    resource = session.get(SupportResource, row.resource_id)
    return _referral_view(row, resource.name if resource else "", cipher, True)


def add_follow_up(
    session: Session, subject: Subject, purpose: str, plan_id: int, *, due_on: date, owner: str, note: str = "",
    referral_id: int | None = None, cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
) -> FollowUpView:
    plan = _plan(session, plan_id)
    guard(session, subject, "plan.write", purpose, plan.person_id, sensitivity=3, key=key)
    _active(plan)
    owner_row = session.get(User, owner)
    if owner_row is None or owner_row.disabled or not does_casework(policy_of(session), owner_row):
        raise Invalid("担当者は、支援方針を扱える職員から選んでください。", field="owner")
    if referral_id is not None:
        referral = session.get(Referral, referral_id)
        if referral is None or referral.plan_id != plan.id:
            raise Invalid("この支援方針のつなぎではありません。", field="referral_id")
    row = FollowUp(plan_id=plan.id, referral_id=referral_id, due_on=due_on, owner=owner, done=False,
                   note_enc=seal(cipher, note), created_by=subject.user_id, created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return _follow_up_view(row, plan.person_id, cipher, True)


def complete_follow_up(
    session: Session, subject: Subject, purpose: str, follow_up_id: int, *, note: str = "", cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None,
) -> FollowUpView:
    person_id = follow_up_person(session, follow_up_id)
    guard(session, subject, "plan.write", purpose, person_id, sensitivity=3, key=key)
    row = session.get(FollowUp, follow_up_id)
    assert row is not None
    if row.done:
        raise Invalid("このフォローアップは完了しています。")
    row.done, row.done_at = True, datetime.now(UTC)
    if note.strip():
        previous = unseal(cipher, row.note_enc)
        row.note_enc = seal(cipher, f"{previous}\n{note.strip()}" if previous else note)
    session.flush()
    return _follow_up_view(row, person_id, cipher, True)


def close_plan(
    session: Session, subject: Subject, purpose: str, plan_id: int, *, note: str, cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None,
) -> PlanView:
    plan = _plan(session, plan_id)
    guard(session, subject, "plan.write", purpose, plan.person_id, sensitivity=3, key=key)
    _active(plan)
    if not note.strip():
        raise Invalid("終結の理由・結果を入力してください。", field="note")
    # What a closure needs is each referral's outcome, not its status: a referral still in use
    # (利用開始) with its outcome recorded is known, and the plan may close.
    unknown = session.scalars(select(Referral.id).where(Referral.plan_id == plan.id, Referral.outcome.is_(None)))
    if list(unknown):
        raise Invalid("結果が記録されていないつなぎがあります。つなぎの結果を記録してから終結してください。")
    open_follow_ups = session.scalars(select(FollowUp.id).where(FollowUp.plan_id == plan.id, FollowUp.done.is_(False)))
    if list(open_follow_ups):
        raise Invalid("未完了のフォローアップがあります。完了してから終結してください。")
    plan.status, plan.closed_at, plan.closure_note_enc = "closed", datetime.now(UTC), seal(cipher, note)
    session.flush()
    case_status.on_plan_closed(session, subject, plan.person_id, cipher)
    return _view(session, plan, cipher, True)


def does_casework(policy: Policy, user: User) -> bool:
    """An account whose role may write a plan under some relationship: one who can own a follow-up
    (not the administrator, the privacy officer or a data steward)."""
    subject = Subject(user.user_id, user.role, user.organisation or "")
    return any(policy.allows(subject, "plan.write", purpose, relationship=rel, sensitivity=3)
               for purpose in ("support_coordination", "assessment") for rel in RELATIONSHIPS if rel != "none")


def caseworkers(session: Session) -> list[tuple[str, str]]:
    """(user id, display name) of the active accounts that can own a follow-up, by name."""
    rows = session.scalars(select(User).where(User.disabled.is_(False)).order_by(User.display_name, User.user_id))
    policy = policy_of(session)
    return [(u.user_id, u.display_name) for u in rows if does_casework(policy, u)]


def display_names(session: Session, user_ids: set[str]) -> dict[str, str]:
    """User id -> display name, for showing who created or owns a record (ids are not for people)."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.user_id, User.display_name).where(User.user_id.in_(user_ids)))
    return {uid: name for uid, name in rows}


def _referral_view(row: Referral, resource_name: str, cipher: NoteCipher, notes: bool) -> ReferralView:
    return ReferralView(
        row.id, row.plan_id, row.resource_id, resource_name, row.status, REFERRAL_STATUSES.get(row.status, row.status),
        row.outcome, OUTCOMES.get(row.outcome or "", ""), unseal(cipher, row.note_enc) if notes else None,
        row.created_by, row.created_at, row.updated_at,
    )


def _follow_up_view(row: FollowUp, person_id: str, cipher: NoteCipher | None, notes: bool) -> FollowUpView:
    note = unseal(cipher, row.note_enc) if notes and cipher is not None else None
    return FollowUpView(row.id, row.plan_id, person_id, row.referral_id, row.due_on, row.owner, row.done,
                        row.done_at, note)


def _view(session: Session, plan: SupportPlan, cipher: NoteCipher, notes: bool) -> PlanView:
    names = dict(session.execute(select(SupportResource.id, SupportResource.name)).all())
    referrals = tuple(
        _referral_view(r, names.get(r.resource_id, ""), cipher, notes)
        for r in session.scalars(select(Referral).where(Referral.plan_id == plan.id).order_by(Referral.id))
    )
    follow_ups = tuple(
        _follow_up_view(f, plan.person_id, cipher, notes)
        for f in session.scalars(select(FollowUp).where(FollowUp.plan_id == plan.id).order_by(FollowUp.due_on))
    )
    return PlanView(
        plan.id, plan.person_id, plan.review_id, unseal(cipher, plan.goals_enc) if notes else None,
        plan.responsible_body, plan.next_review_on, plan.status, PLAN_STATUSES.get(plan.status, plan.status),
        unseal(cipher, plan.closure_note_enc) if notes else None, plan.created_by, plan.created_at, plan.closed_at,
        referrals, follow_ups,
    )


def plans_of(session: Session, person_id: str, cipher: NoteCipher, *, notes: bool) -> list[PlanView]:
    """The child's plans, newest first. Callers have already guarded the read."""
    rows = session.scalars(select(SupportPlan).where(SupportPlan.person_id == person_id)
                           .order_by(SupportPlan.created_at.desc()))
    return [_view(session, p, cipher, notes) for p in rows]


def open_follow_ups(session: Session, owner: str) -> list[FollowUpView]:
    """The owner's open follow-ups by due date (no notes: a to-do list, not a case file).

    Children whose use is suspended are left out, as from every other list.
    """
    hidden = suspended_persons(session)
    rows = session.execute(
        select(FollowUp, SupportPlan.person_id).join(SupportPlan, SupportPlan.id == FollowUp.plan_id)
        .where(FollowUp.owner == owner, FollowUp.done.is_(False)).order_by(FollowUp.due_on)
    ).all()
    return [_follow_up_view(f, pid, None, False) for f, pid in rows if pid not in hidden]
