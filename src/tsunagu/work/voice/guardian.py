"""相談 from the family portal: a signed-in guardian's own threads with the family centre.

The thread is the centre's ordinary consultation thread (``threads``): the same message store
(NoteCipher), the same urgent-word check and on-duty alert, the same inbox, triage and retention —
only the writer differs (``writer_kind`` ``guardian``, ``guardian_account`` the portal subject's id).
Every open, read and write of a guardian's thread is decided and recorded through ``authorise``:
the guardian's own thread is ``own_consultation``; any other thread (another guardian's, a child's,
or an id that names none) is ``none``, refused and on record — the same answer for all, so nothing
is told about which ids exist. Naming the child a thread is about is decided as ``own_child`` from
the register on that request (the portal's ``children_of``), so only a child the portal shows now
can be named, and the guardian's consent to link re-checks it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject, authorise
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.family.household import OWN_CHILD
from tsunagu.work.voice import threads
from tsunagu.work.voice.models import VoiceMessage, VoiceThread

WRITER_KIND = "guardian"
OWN = "own_consultation"
READ, WRITE, ABOUT = "family.consult.read", "family.consult.write", "family.consult.about"
# The guardian's own correspondence, not the child's case record (sensitivity 3 for staff).
SENSITIVITY = 2


def _decide(session: Session, subject: Subject, action: str, relationship: str, *, person_id: str | None = None,
            key: Ed25519PrivateKey | None) -> None:
    decision = authorise(session, subject, action, threads.PURPOSE, person_id=person_id, relationship=relationship,
                         sensitivity=SENSITIVITY, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def check_text(text: str) -> str:
    """The message as it will be stored, or a refusal in the portal's words (before anything is written)."""
    text = text.strip()
    if not text:
        raise Invalid("メッセージを書いてから送ってください。")
    if len(text) > threads.MAX_MESSAGE:
        raise Invalid(f"メッセージは{threads.MAX_MESSAGE}文字までです。長いときは、分けて送ってください。")
    return text


def name_child(session: Session, subject: Subject, person_id: str, relationship: str, *,
               key: Ed25519PrivateKey | None = None) -> None:
    """Decide (and record) naming ``person_id`` as the thread's child: ``relationship`` is the
    register's answer on this request (``own_child`` or ``none``)."""
    _decide(session, subject, ABOUT, relationship, person_id=person_id, key=key)


def start(session: Session, subject: Subject, text: str, *, cipher: NoteCipher, about: str | None = None,
          about_relationship: str = "none", key: Ed25519PrivateKey | None = None,
          now: datetime | None = None) -> VoiceThread:
    """A new thread with its first message (urgent words alert those on duty, as for a child's)."""
    text = check_text(text)
    if about:  # decided before anything is written: a refusal commits its audit entry, and only that
        name_child(session, subject, about, about_relationship, key=key)
    _decide(session, subject, WRITE, OWN, key=key)
    moment = now or datetime.now(UTC)
    thread = VoiceThread(writer_kind=WRITER_KIND, guardian_account=subject.user_id, about_person_id=about or None,
                         created_at=moment, last_message_at=moment)
    session.add(thread)
    session.flush()
    return threads.write(session, thread, text, cipher=cipher, now=moment)


def _own(session: Session, subject: Subject, thread_id: int, action: str,
         key: Ed25519PrivateKey | None) -> VoiceThread:
    thread = session.get(VoiceThread, thread_id)
    mine = thread is not None and thread.writer_kind == WRITER_KIND and thread.guardian_account == subject.user_id
    _decide(session, subject, action, OWN if mine else "none", key=key)
    assert thread is not None  # a thread that is not theirs (or none) was refused above
    return thread


@dataclass(frozen=True)
class ThreadSummary:
    id: int
    created_at: datetime
    last_message_at: datetime
    closed: bool
    about_person_id: str | None
    answered: bool  # the last message is the centre's


def my_threads(session: Session, subject: Subject, *, key: Ed25519PrivateKey | None = None) -> list[ThreadSummary]:
    _decide(session, subject, READ, OWN, key=key)
    rows = []
    for thread in session.scalars(select(VoiceThread).where(
            VoiceThread.writer_kind == WRITER_KIND, VoiceThread.guardian_account == subject.user_id)
            .order_by(VoiceThread.last_message_at.desc())):
        last = session.scalars(select(VoiceMessage.author).where(VoiceMessage.thread_id == thread.id)
                               .order_by(VoiceMessage.id.desc()).limit(1)).first()
        rows.append(ThreadSummary(thread.id, thread.created_at, thread.last_message_at, thread.status == "closed",
                                  thread.about_person_id, last == "staff"))
    return rows


def read(session: Session, subject: Subject, thread_id: int, *, cipher: NoteCipher,
         key: Ed25519PrivateKey | None = None) -> tuple[VoiceThread, list[threads.Line]]:
    thread = _own(session, subject, thread_id, READ, key)
    return thread, threads.writer_lines(session, thread, cipher)


def write(session: Session, subject: Subject, thread_id: int, text: str, *, cipher: NoteCipher,
          key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> VoiceThread:
    thread = _own(session, subject, thread_id, WRITE, key)
    return threads.write(session, thread, check_text(text), cipher=cipher, now=now)


def consent(session: Session, subject: Subject, thread_id: int, *, own_children: Collection[str],
            key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> None:
    """The guardian agrees that the centre may link the thread to the named child's case; the child
    must still be theirs in the register today (``own_children``: the register's answer on this request)."""
    thread = _own(session, subject, thread_id, WRITE, key)
    if thread.about_person_id is None:
        raise Invalid("お子さんを選んで始めた相談だけ、お子さんの記録と結び付けられます。")
    about = thread.about_person_id
    name_child(session, subject, about, OWN_CHILD if about in own_children else "none", key=key)
    threads.consent(session, thread, now=now)
