"""相談: threads between a writer and the family centre.

Writer side (no staff subject): a child with a pupil code, or anonymous with a thread key kept in
their cookie and a re-entry word shown once. Staff side: the inbox, triage, assignment, replies
and linking to a child's record — each decided and recorded through ``authorise`` (purpose
``consultation``, relationship ``own_agency``: the centre's own consultations; sensitivity 3, for a
child may write about abuse). A thread's writer is never shown to staff by name or code: a pupil
code's school is, and the link to the child's record is made only after the writer's consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject, authorise
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.voice import alerts
from tsunagu.work.voice.codes import (
    CodeLocked,
    check_throttle,
    digest,
    new_reentry_word,
    new_thread_key,
    normalise_word,
    record_attempt,
)
from tsunagu.work.voice.config import urgent_labels, urgent_terms, voice_settings
from tsunagu.work.voice.models import PupilCode, VoiceMessage, VoiceThread

PURPOSE = "consultation"
MAX_MESSAGE = 2000
STATUSES = {"open": "対応中", "closed": "終了"}


class ReentryRefused(Refused):
    code = "kodomo_reentry"
    status = 401


@dataclass(frozen=True)
class Line:
    author: str  # writer / staff
    text: str
    at: datetime
    urgent: list[str]


def _lines(session: Session, thread: VoiceThread, cipher: NoteCipher) -> list[Line]:
    return [Line(m.author, cipher.decrypt(m.body_enc), m.at, urgent_labels(m.urgent_terms.split(",")) if m.urgent_terms
                 else []) for m in session.scalars(select(VoiceMessage).where(VoiceMessage.thread_id == thread.id)
                                                   .order_by(VoiceMessage.id))]


# -- the writer's side ---------------------------------------------------------------------------
def start_anonymous(session: Session, *, code_key: bytes, now: datetime | None = None) -> tuple[VoiceThread, str, str]:
    """A new anonymous thread: its key (for the cookie) and its re-entry word (shown once)."""
    moment = now or datetime.now(UTC)
    key = new_thread_key()
    for _ in range(20):
        word = new_reentry_word()
        hashed = digest(code_key, "reentry", normalise_word(word))
        if session.scalars(select(VoiceThread.id).where(VoiceThread.reentry_hash == hashed)).first() is None:
            break
    else:  # twenty draws all taken: the word space is far larger than any municipality's threads
        raise Invalid("いまは はじめられません。すこし まってから もういちど ためしてください。")
    thread = VoiceThread(writer_kind="anonymous", key_hash=digest(code_key, "thread", key), reentry_hash=hashed,
                         created_at=moment, last_message_at=moment)
    session.add(thread)
    session.flush()
    return thread, key, word


def thread_by_key(session: Session, key: str, *, code_key: bytes) -> VoiceThread | None:
    return session.scalars(select(VoiceThread).where(VoiceThread.key_hash == digest(code_key, "thread", key))).first()


def reenter(session: Session, word: str, *, code_key: bytes, ip: str, now: datetime | None = None) -> tuple[VoiceThread, str]:
    """Back to an anonymous thread with its word: a fresh key replaces the old one (an old cookie ends)."""
    moment = now or datetime.now(UTC)
    check_throttle(session, ip, moment)
    folded = normalise_word(word)
    thread = session.scalars(select(VoiceThread).where(
        VoiceThread.reentry_hash == digest(code_key, "reentry", folded))).first() if folded else None
    record_attempt(session, ip, thread is not None, moment)
    if thread is None:
        raise ReentryRefused("ことばが ちがいます。メモを みて、もういちど いれてください。")
    key = new_thread_key()
    thread.key_hash = digest(code_key, "thread", key)
    return thread, key


def thread_of_code(session: Session, code: PupilCode) -> VoiceThread | None:
    """The pupil's thread, also one begun with an earlier card (a lost card is reissued; the revoked
    card itself opens nothing)."""
    same_pupil = select(PupilCode.id).where(PupilCode.school_code == code.school_code,
                                            PupilCode.pupil_no == code.pupil_no)
    return session.scalars(select(VoiceThread).where(VoiceThread.code_id.in_(same_pupil))
                           .order_by(VoiceThread.id.desc())).first()


def writer_lines(session: Session, thread: VoiceThread | None, cipher: NoteCipher) -> list[Line]:
    return [] if thread is None else _lines(session, thread, cipher)


def write(session: Session, thread: VoiceThread | None, text: str, *, cipher: NoteCipher, code: PupilCode | None = None,
          now: datetime | None = None) -> VoiceThread:
    """The writer's message; urgent words alert everyone on duty at once and put the thread first."""
    text = text.strip()
    if not text:
        raise Invalid("なにか かいてから おくってください。")
    if len(text) > MAX_MESSAGE:
        raise Invalid(f"{MAX_MESSAGE}もじまでです。ながいときは、わけて おくってください。")
    moment = now or datetime.now(UTC)
    if thread is None:
        if code is None:
            raise Invalid("もういちど はじめから ためしてください。")
        thread = VoiceThread(writer_kind="child_code", code_id=code.id, school_code=code.school_code,
                             created_at=moment, last_message_at=moment)
        session.add(thread)
        session.flush()
    terms = urgent_terms(text)
    session.add(VoiceMessage(thread_id=thread.id, author="writer", body_enc=cipher.encrypt(text),
                             urgent_terms=",".join(terms), at=moment))
    thread.last_message_at = moment
    thread.status = "open"
    if terms:
        thread.urgent = True
        thread.priority = "urgent"
        session.flush()
        alerts.alert_on_duty(session, thread.id, moment)
    return thread


def consent(session: Session, thread: VoiceThread, *, now: datetime | None = None) -> None:
    """The writer agrees that the centre may connect the thread to their record (school, support)."""
    thread.consent_at = thread.consent_at or now or datetime.now(UTC)


# -- the staff side ------------------------------------------------------------------------------
def _decide(session: Session, subject: Subject, action: str, *, person_id: str | None = None,
            key: Ed25519PrivateKey | None) -> None:
    decision = authorise(session, subject, action, PURPOSE, person_id=person_id, relationship="own_agency",
                         sensitivity=3, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


@dataclass(frozen=True)
class InboxRow:
    thread: VoiceThread
    preview: str
    urgent: list[str]
    unanswered: bool


def inbox(session: Session, subject: Subject, *, cipher: NoteCipher, status: str = "open",
          key: Ed25519PrivateKey | None = None) -> list[InboxRow]:
    """Urgent threads first, then by priority, then the newest message first."""
    _decide(session, subject, "voice.inbox", key=key)
    rank = case((VoiceThread.priority == "urgent", 0), (VoiceThread.priority == "high", 1), else_=2)
    stmt = select(VoiceThread).order_by(VoiceThread.urgent.desc(), rank, VoiceThread.last_message_at.desc())
    if status in STATUSES:
        stmt = stmt.where(VoiceThread.status == status)
    rows = []
    for thread in session.scalars(stmt.limit(200)):
        if thread.linked_person_id is not None:  # a linked thread is that child's record: its read is theirs too
            _decide(session, subject, "voice.inbox", person_id=thread.linked_person_id, key=key)
        last = session.scalars(select(VoiceMessage).where(VoiceMessage.thread_id == thread.id)
                               .order_by(VoiceMessage.id.desc()).limit(1)).first()
        preview = cipher.decrypt(last.body_enc)[:60] if last is not None else ""
        terms = [t for m in session.scalars(select(VoiceMessage.urgent_terms).where(VoiceMessage.thread_id == thread.id))
                 for t in m.split(",") if t]
        rows.append(InboxRow(thread, preview, urgent_labels(list(dict.fromkeys(terms))),
                             last is not None and last.author == "writer"))
    return rows


@dataclass(frozen=True)
class ThreadView:
    thread: VoiceThread
    lines: list[Line]


def _thread(session: Session, subject: Subject, thread_id: int, action: str,
            key: Ed25519PrivateKey | None) -> VoiceThread:
    thread = session.get(VoiceThread, thread_id)
    _decide(session, subject, action, person_id=thread.linked_person_id if thread is not None else None, key=key)
    if thread is None:
        raise NotFound("相談が見つかりません。")
    return thread


def read_thread(session: Session, subject: Subject, thread_id: int, *, cipher: NoteCipher,
                key: Ed25519PrivateKey | None = None) -> ThreadView:
    thread = _thread(session, subject, thread_id, "voice.read", key)
    alerts.acknowledge_all(session, subject.user_id, thread_id=thread.id)
    return ThreadView(thread, _lines(session, thread, cipher))


def reply(session: Session, subject: Subject, thread_id: int, text: str, *, cipher: NoteCipher,
          key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> None:
    thread = _thread(session, subject, thread_id, "voice.write", key)
    text = text.strip()
    if not text or len(text) > MAX_MESSAGE:
        raise Invalid(f"返信を{MAX_MESSAGE}文字以内で入力してください。", field="text")
    moment = now or datetime.now(UTC)
    session.add(VoiceMessage(thread_id=thread.id, author="staff", staff_user_id=subject.user_id,
                             body_enc=cipher.encrypt(text), urgent_terms="", at=moment))
    thread.last_message_at = moment
    thread.assigned_to = thread.assigned_to or subject.user_id


def triage(session: Session, subject: Subject, thread_id: int, *, priority: str, category: str, status: str,
           assigned_to: str, key: Ed25519PrivateKey | None = None) -> None:
    thread = _thread(session, subject, thread_id, "voice.write", key)
    settings = voice_settings()
    if priority not in settings.priorities or category not in settings.categories or status not in STATUSES:
        raise Invalid("優先度・分類・状態を一覧から選んでください。")
    staff = dict(alerts.duty_candidates(session))
    if assigned_to and assigned_to not in staff:
        raise Invalid("担当者はこども家庭センターの職員から選んでください。", field="assigned_to")
    thread.priority, thread.category, thread.status = priority, category, status
    thread.assigned_to = assigned_to or None
    if priority != "urgent":
        thread.urgent = False  # staff judged it: it no longer jumps the queue


def _link_person(session: Session, thread: VoiceThread | None) -> tuple[PupilCode | None, str | None]:
    """Whose record the thread would join: the pupil the code was issued for, or the child a
    guardian named from the family portal (one of their own children, checked when named)."""
    if thread is None:
        return None, None
    if thread.writer_kind == "guardian":
        return None, thread.about_person_id
    code = session.get(PupilCode, thread.code_id) if thread.code_id is not None else None
    return code, code.person_id if code is not None else None


def link(session: Session, subject: Subject, thread_id: int, *, key: Ed25519PrivateKey | None = None,
         now: datetime | None = None) -> str:
    """Connect a thread to the child's record — a pupil code's (the roster record the code was
    issued for) or a guardian's (the child they named) — only with the writer's recorded consent.
    Returns the person linked."""
    thread = session.get(VoiceThread, thread_id)
    code, person = _link_person(session, thread)
    _decide(session, subject, "voice.link", person_id=person, key=key)
    if thread is None:
        raise NotFound("相談が見つかりません。")
    if thread.consent_at is None:
        raise Invalid("相談した本人の同意が記録されていないため、子どもの記録に結び付けられません。"
                      "本人に同意を尋ねる返信を送り、本人が相談の画面で同意するのを待ってください。")
    if thread.writer_kind == "guardian":
        if person is None:
            raise Invalid("保護者がお子さんを選んでいない相談のため、子どもの記録に結び付けられません。")
    elif code is None:
        raise Invalid("名前を言わない相談は、子どもの記録に結び付けられません。"
                      "結び付けてよいと本人が言うときは、学校でもらったカードのコードで入り直すよう伝えてください。")
    if person is None:
        raise Invalid("このカードの児童は、まだ名寄せ（学校の名簿と他の記録の照合）ができていないため結び付けられません。")
    if thread.linked_person_id is None:
        thread.linked_person_id, thread.linked_by, thread.linked_at = person, subject.user_id, now or datetime.now(UTC)
    return person


def suggested_person(session: Session, thread: VoiceThread) -> str | None:
    """For a thread with consent: the person it would be linked to (pupil code's or guardian's child)."""
    if thread.consent_at is None:
        return None
    return _link_person(session, thread)[1]


__all__ = ["CodeLocked", "Line", "ReentryRefused"]
