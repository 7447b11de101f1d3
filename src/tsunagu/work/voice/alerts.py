"""Alerts to staff (an urgent message to those on duty; a 心の天気 streak to the class teacher and
the school's SSW) and the on-duty roster. An alert says that something waits and where; what it
is about is read on the page it links to, which decides and records that read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.privacy import Subject, authorise
from tsunagu.work.access import organisation_schools
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.models import User
from tsunagu.work.voice.models import DutyRoster, KokoroClass, VoiceAlert

DUTY_ROLES = ("centre_caseworker",)


@dataclass(frozen=True)
class AlertSummary:
    urgent: int
    streak: int
    streak_class: int | None  # the class of the newest streak alert, for the banner's link


def open_alerts(session: Session, user_id: str) -> AlertSummary:
    """The banner's counts for one staff member (every staff page shows it)."""
    rows = session.execute(select(VoiceAlert.kind, func.count(), func.max(VoiceAlert.class_id)).where(
        VoiceAlert.user_id == user_id, VoiceAlert.acknowledged_at.is_(None)).group_by(VoiceAlert.kind)).all()
    counts = {kind: (int(n), cls) for kind, n, cls in rows}
    streak = counts.get("streak", (0, None))
    return AlertSummary(counts.get("urgent", (0, None))[0], streak[0], streak[1])


def on_duty(session: Session) -> list[str]:
    return list(session.scalars(select(DutyRoster.user_id).order_by(DutyRoster.user_id)))


def alert_on_duty(session: Session, thread_id: int, now: datetime) -> int:
    users = on_duty(session)
    for user_id in users:
        session.add(VoiceAlert(kind="urgent", user_id=user_id, thread_id=thread_id, created_at=now))
    return len(users)


def alert_streak(session: Session, klass: KokoroClass, pupil_no: str, now: datetime) -> list[str]:
    """The class teacher and every active SSW whose organisation names the pupil's school."""
    ssws = [u.user_id for u in session.scalars(select(User).where(
        User.role == "school_social_worker", User.disabled.is_(False)))
        if klass.school_code in organisation_schools(u.organisation)]
    recipients = list(dict.fromkeys([klass.teacher_user_id, *ssws]))
    for user_id in recipients:
        session.add(VoiceAlert(kind="streak", user_id=user_id, class_id=klass.id, pupil_no=pupil_no, created_at=now))
    return recipients


def acknowledge(session: Session, subject: Subject, alert_id: int, now: datetime | None = None) -> None:
    alert = session.get(VoiceAlert, alert_id)
    if alert is None or alert.user_id != subject.user_id:
        raise Refused("拒否: 自分あての通知ではありません。")
    alert.acknowledged_at = alert.acknowledged_at or now or datetime.now(UTC)


def acknowledge_all(session: Session, user_id: str, *, thread_id: int | None = None, class_id: int | None = None,
                    now: datetime | None = None) -> None:
    stmt = select(VoiceAlert).where(VoiceAlert.user_id == user_id, VoiceAlert.acknowledged_at.is_(None))
    if thread_id is not None:
        stmt = stmt.where(VoiceAlert.thread_id == thread_id)
    if class_id is not None:
        stmt = stmt.where(VoiceAlert.class_id == class_id)
    for alert in session.scalars(stmt):
        alert.acknowledged_at = now or datetime.now(UTC)


def _decide_duty(session: Session, subject: Subject, key: Ed25519PrivateKey | None) -> None:
    decision = authorise(session, subject, "voice.duty", "consultation", key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def duty_view(session: Session, subject: Subject, *, key: Ed25519PrivateKey | None = None
              ) -> tuple[list[tuple[str, str]], list[str]]:
    """The staff who can be on duty and who is (decided: ``voice.duty``)."""
    _decide_duty(session, subject, key)
    return duty_candidates(session), on_duty(session)


def set_duty(session: Session, subject: Subject, user_ids: list[str], *, key: Ed25519PrivateKey | None = None,
             now: datetime | None = None) -> list[str]:
    """Replace the on-duty roster (only centre staff can be on duty: they answer the channel)."""
    _decide_duty(session, subject, key)
    chosen = sorted(set(user_ids))
    staff = {u.user_id for u in session.scalars(select(User).where(User.user_id.in_(chosen), User.disabled.is_(False)))
             if u.role in DUTY_ROLES}
    unknown = [u for u in chosen if u not in staff]
    if unknown:
        raise Invalid("当番にできるのは、こども家庭センターの職員（有効なアカウント）だけです。", field="on_duty")
    for row in session.scalars(select(DutyRoster)):
        session.delete(row)
    session.flush()
    moment = now or datetime.now(UTC)
    for user_id in chosen:
        session.add(DutyRoster(user_id=user_id, added_by=subject.user_id, added_at=moment))
    return chosen


def duty_candidates(session: Session) -> list[tuple[str, str]]:
    return [(u.user_id, u.display_name) for u in session.scalars(
        select(User).where(User.role.in_(DUTY_ROLES), User.disabled.is_(False)).order_by(User.user_id))]
