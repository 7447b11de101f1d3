"""Hub tables of the children's voice: consultation threads and 心の天気.

A thread's writer is a child with a school code (``child_code``), an anonymous child holding a
thread key (``anonymous``) or — once the family portal offers it — a guardian's portal account
(``guardian``): ``writer_kind`` says which, and exactly one of ``code_id``, ``key_hash`` and
``guardian_account`` names the writer. Message bodies and check-in words are NoteCipher blobs
(``*_enc``): a dump of the database holds no readable word a child wrote.

Codes are stored only as keyed hashes (HMAC with the hub's session key): the slip printed at issue
is the only place a code is readable.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base

WRITER_KINDS = ("child_code", "anonymous", "guardian")


class KokoroClass(Base):
    """A class (学級) of a school as the codes were issued to it, with its class teacher."""

    __tablename__ = "voice_classes"
    __table_args__ = (UniqueConstraint("school_code", "label", name="uq_voice_classes_school_label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_code: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(40))
    teacher_user_id: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PupilCode(Base):
    """A pupil's code on a slip: the pupil's school record (the roster's school code and pupil
    number) and, when the link index knows it, the person. Reissuing revokes the earlier code."""

    __tablename__ = "voice_pupil_codes"
    __table_args__ = (Index("ix_voice_pupil_codes_pupil", "school_code", "pupil_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("voice_classes.id"))
    school_code: Mapped[str] = mapped_column(String(20))
    pupil_no: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[str | None] = mapped_column(String(20))
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_on: Mapped[date] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class KokoroOptOut(Base):
    """A guardian asked that the pupil not take part in 心の天気 (nothing is stored while active)."""

    __tablename__ = "voice_kokoro_optouts"
    __table_args__ = (Index("ix_voice_kokoro_optouts_pupil", "school_code", "pupil_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_code: Mapped[str] = mapped_column(String(20))
    pupil_no: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_on: Mapped[date] = mapped_column(Date)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class KokoroCheckIn(Base):
    """One pupil's 心の天気 of one school day (the last answer of the day counts)."""

    __tablename__ = "voice_kokoro_checkins"
    __table_args__ = (UniqueConstraint("school_code", "pupil_no", "day", name="uq_voice_kokoro_checkins_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_code: Mapped[str] = mapped_column(String(20))
    pupil_no: Mapped[str] = mapped_column(String(40))
    class_id: Mapped[int] = mapped_column(ForeignKey("voice_classes.id"))
    day: Mapped[date] = mapped_column(Date)
    weather: Mapped[str] = mapped_column(String(8))  # 晴れ / くもり / 雨 / 雷 (the catalogue's codes)
    word_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VoiceThread(Base):
    """相談のスレッド: one writer's conversation with the family centre."""

    __tablename__ = "voice_threads"
    __table_args__ = (Index("ix_voice_threads_last", "last_message_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    writer_kind: Mapped[str] = mapped_column(String(12))  # WRITER_KINDS
    code_id: Mapped[int | None] = mapped_column(ForeignKey("voice_pupil_codes.id"))
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    reentry_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    guardian_account: Mapped[str | None] = mapped_column(String(64))
    school_code: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open / closed
    priority: Mapped[str] = mapped_column(String(10), default="normal")  # urgent / high / normal
    category: Mapped[str] = mapped_column(String(20), default="unsorted")
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The writer's consent to link the thread to their record (recorded from the writer's page).
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    linked_person_id: Mapped[str | None] = mapped_column(String(20))
    # A guardian's thread: the child it is about, named by the guardian from their own children
    # (the portal checks the register on that request). Linked only after the guardian's consent.
    about_person_id: Mapped[str | None] = mapped_column(String(20))
    linked_by: Mapped[str | None] = mapped_column(String(64))
    linked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VoiceMessage(Base):
    __tablename__ = "voice_messages"
    __table_args__ = (Index("ix_voice_messages_thread", "thread_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("voice_threads.id"))
    author: Mapped[str] = mapped_column(String(8))  # writer / staff
    staff_user_id: Mapped[str | None] = mapped_column(String(64))
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    urgent_terms: Mapped[str] = mapped_column(Text, default="")  # ids of the matched urgent words
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VoiceAlert(Base):
    """An alert to one staff member: an urgent message (on duty) or a 心の天気 streak (class teacher, SSW)."""

    __tablename__ = "voice_alerts"
    __table_args__ = (Index("ix_voice_alerts_user_open", "user_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # urgent / streak
    user_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("voice_threads.id"))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("voice_classes.id"))
    pupil_no: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DutyRoster(Base):
    """当番: the centre staff on duty for the consultation channel (urgent alerts go to them)."""

    __tablename__ = "voice_duty"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
