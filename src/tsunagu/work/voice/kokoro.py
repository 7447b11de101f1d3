"""心の天気: class sets of pupil codes, the pupils' daily check-in, guardians' opt-outs, the class
board and the streak alert.

Pupil identity: a code is issued for a pupil of the school roster (the school's code and the
pupil's 児童生徒番号, the roster node's own record key) in a class; the person id comes from the
link index when the roster record is linked (``schools`` department, ``<school>:<number>``).
Scope: a class teacher sees the classes they teach (the policy's ``assigned_case``), an SSW and
the school's managers the classes of their schools (``same_school``). Every board read is decided
and recorded per pupil (``kokoro.board``), before anything is shown.

An opt-out (the guardian's written request, recorded by the school) is enforced where entries are
written: nothing is stored while it is active, and what was stored before is deleted when it is
recorded. The pupil's page then says only that it cannot be used.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tsunagu.errors import RefusedError
from tsunagu.link.models import PersonLink
from tsunagu.privacy import NoteCipher, Subject, authorise
from tsunagu.privacy.policy import JST
from tsunagu.work.access import organisation_schools
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.voice import alerts
from tsunagu.work.voice.codes import check_throttle, digest, new_code, normalise_code, record_attempt
from tsunagu.work.voice.config import voice_settings
from tsunagu.work.voice.models import KokoroCheckIn, KokoroClass, KokoroOptOut, PupilCode

PURPOSE = "wellbeing"
WEATHERS = ("晴れ", "くもり", "雨", "雷")  # the catalogue's codes of kokoro_weather
RAINY = ("雨", "雷")
BOARD_DAYS = 14
MAX_WORD = 200
PUPIL_NO = re.compile(r"^[0-9A-Za-z-]{1,20}$")


class KokoroUnavailable(RefusedError):
    """The pupil does not take part (a guardian's opt-out): the page says it cannot be used."""

    code = "kokoro_unavailable"
    status = 403
    message = "このページは いまは つかえません。"

    def __init__(self) -> None:
        super().__init__(self.message)


class CodeRefused(RefusedError):
    """A pupil code that is not valid (wrong, revoked or expired) — one message for all."""

    code = "kodomo_code"
    status = 401
    message = "コードが ちがいます。カードを みて、もういちど いれてください。"

    def __init__(self) -> None:
        super().__init__(self.message)


def relationship_to_class(subject: Subject, klass: KokoroClass) -> str:
    if subject.role == "teacher":
        return "assigned_case" if klass.teacher_user_id == subject.user_id else "none"
    return "same_school" if klass.school_code in organisation_schools(subject.organisation) else "none"


def person_of(session: Session, school_code: str, pupil_no: str) -> str | None:
    return session.scalars(select(PersonLink.person_id).where(
        PersonLink.department == "schools", PersonLink.local_id == f"{school_code}:{pupil_no}").limit(1)).first()


def _decide(session: Session, subject: Subject, action: str, relationship: str, *, person_id: str | None = None,
            key: Ed25519PrivateKey | None) -> None:
    decision = authorise(session, subject, action, PURPOSE, person_id=person_id, relationship=relationship,
                         sensitivity=2, items=("kokoro_weather",) if action == "kokoro.board" else (), key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def parse_pupils(text: str) -> list[str]:
    """児童生徒番号, one a line (or separated by commas or spaces)."""
    numbers = [p for p in re.split(r"[\s,、]+", text.strip()) if p]
    bad = [p for p in numbers if not PUPIL_NO.match(p)]
    if not numbers or bad or len(numbers) > 60:
        raise Invalid("児童生徒番号を1行に1つずつ（60人まで、英数字とハイフン）入力してください。", field="pupils")
    return list(dict.fromkeys(numbers))


@dataclass(frozen=True)
class IssuedCode:
    pupil_no: str
    code: str


def issue_codes(session: Session, subject: Subject, *, label: str, pupils: list[str], code_key: bytes,
                teacher_user_id: str | None = None, school_code: str | None = None,
                key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> tuple[KokoroClass, list[IssuedCode]]:
    """A class set of codes (earlier codes of the same pupils are revoked). A teacher issues for their
    own class at their school; a school manager names the class teacher."""
    label = label.strip()
    if not label or len(label) > 40:
        raise Invalid("学級名（例: 5年1組）を40文字以内で入力してください。", field="label")
    schools = organisation_schools(subject.organisation)
    school = school_code or (next(iter(schools)) if len(schools) == 1 else "")
    teacher = subject.user_id if subject.role == "teacher" else (teacher_user_id or "").strip()
    moment = now or datetime.now(UTC)
    klass = session.scalars(select(KokoroClass).where(KokoroClass.school_code == school,
                                                      KokoroClass.label == label)).first()
    probe = klass or KokoroClass(school_code=school, label=label, teacher_user_id=teacher)
    _decide(session, subject, "kokoro.codes", relationship_to_class(subject, probe), key=key)
    if not teacher:
        raise Invalid("担任の利用者IDを入力してください。", field="teacher")
    if klass is None:
        klass = KokoroClass(school_code=school, label=label, teacher_user_id=teacher, created_by=subject.user_id,
                            created_at=moment)
        session.add(klass)
        session.flush()
    elif subject.role != "teacher" and teacher_user_id:
        klass.teacher_user_id = teacher
    expires = (moment.astimezone(JST) + timedelta(days=voice_settings().pupil_code_days)).date()
    issued = []
    for pupil_no in pupils:
        person = person_of(session, school, pupil_no)
        _decide(session, subject, "kokoro.codes", relationship_to_class(subject, klass), person_id=person, key=key)
        for old in session.scalars(select(PupilCode).where(PupilCode.school_code == school,
                                                           PupilCode.pupil_no == pupil_no,
                                                           PupilCode.revoked_at.is_(None))):
            old.revoked_at = moment
        code = new_code()
        session.add(PupilCode(code_hash=digest(code_key, "pupil", code), class_id=klass.id, school_code=school,
                              pupil_no=pupil_no, person_id=person, issued_by=subject.user_id, issued_at=moment,
                              expires_on=expires))
        issued.append(IssuedCode(pupil_no, code))
    session.flush()
    return klass, issued


def sign_in(session: Session, text: str, *, code_key: bytes, ip: str, now: datetime | None = None) -> PupilCode:
    """The pupil's code (throttled per address; the attempt is recorded either way)."""
    moment = now or datetime.now(UTC)
    check_throttle(session, ip, moment)
    code = normalise_code(text)
    row = session.scalars(select(PupilCode).where(PupilCode.code_hash == digest(code_key, "pupil", code))).first() \
        if code else None
    valid = row is not None and row.revoked_at is None and row.expires_on >= moment.astimezone(JST).date()
    record_attempt(session, ip, valid, moment)
    if not valid or row is None:
        raise CodeRefused()
    row.last_used_at = moment
    return row


def active_code(session: Session, code_id: int, today: date) -> PupilCode | None:
    row = session.get(PupilCode, code_id)
    if row is None or row.revoked_at is not None or row.expires_on < today:
        return None
    return row


def opted_out(session: Session, school_code: str, pupil_no: str) -> bool:
    return session.scalars(select(KokoroOptOut.id).where(
        KokoroOptOut.school_code == school_code, KokoroOptOut.pupil_no == pupil_no,
        KokoroOptOut.withdrawn_at.is_(None)).limit(1)).first() is not None


def today_entry(session: Session, code: PupilCode, day: date) -> KokoroCheckIn | None:
    return session.scalars(select(KokoroCheckIn).where(
        KokoroCheckIn.school_code == code.school_code, KokoroCheckIn.pupil_no == code.pupil_no,
        KokoroCheckIn.day == day)).first()


def streak(session: Session, school_code: str, pupil_no: str) -> int:
    """Consecutive 雨・雷 entries, newest first (days without an entry neither break nor extend it,
    as in the screening indicator ``kokoro_rain_streak``, which counts entries)."""
    count = 0
    for weather in session.scalars(select(KokoroCheckIn.weather).where(
            KokoroCheckIn.school_code == school_code, KokoroCheckIn.pupil_no == pupil_no)
            .order_by(KokoroCheckIn.day.desc()).limit(200)):
        if weather not in RAINY:
            break
        count += 1
    return count


def check_in(session: Session, code: PupilCode, weather: str, word: str, *, cipher: NoteCipher, streak_entries: int,
             now: datetime | None = None) -> int:
    """Store today's weather (the last answer of the day counts); returns how many staff were alerted."""
    if opted_out(session, code.school_code, code.pupil_no):
        raise KokoroUnavailable()
    if weather not in WEATHERS:
        raise Invalid("てんきを ひとつ えらんでください。")
    word = word.strip()
    if len(word) > MAX_WORD:
        raise Invalid(f"ことばは {MAX_WORD}もじまでです。")
    moment = now or datetime.now(UTC)
    day = moment.astimezone(JST).date()
    entry = today_entry(session, code, day)
    before = streak(session, code.school_code, code.pupil_no)
    if entry is None:
        entry = KokoroCheckIn(school_code=code.school_code, pupil_no=code.pupil_no, class_id=code.class_id, day=day,
                              weather=weather, at=moment)
        session.add(entry)
    entry.weather, entry.at = weather, moment
    entry.word_enc = cipher.encrypt(word) if word else None
    session.flush()
    after = streak(session, code.school_code, code.pupil_no)
    # Alerted once, when the streak reaches the parameter (not again each rainy day after it).
    if after >= streak_entries > before:
        klass = session.get(KokoroClass, code.class_id)
        if klass is not None:
            return len(alerts.alert_streak(session, klass, code.pupil_no, moment))
    return 0


def record_opt_out(session: Session, subject: Subject, class_id: int, pupil_no: str, received_on: date, *,
                   key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> int:
    """The guardian's opt-out; deletes what the pupil had entered. Returns the entries deleted."""
    klass = session.get(KokoroClass, class_id)
    if klass is None:
        _decide(session, subject, "kokoro.optout", "none", key=key)
        raise NotFound("学級が見つかりません。")
    pupil_no = pupil_no.strip()
    if not PUPIL_NO.match(pupil_no):
        raise Invalid("児童生徒番号を入力してください。", field="pupil_no")
    _decide(session, subject, "kokoro.optout", relationship_to_class(subject, klass),
            person_id=person_of(session, klass.school_code, pupil_no), key=key)
    if not opted_out(session, klass.school_code, pupil_no):
        session.add(KokoroOptOut(school_code=klass.school_code, pupil_no=pupil_no, recorded_by=subject.user_id,
                                 recorded_at=now or datetime.now(UTC), received_on=received_on))
    gone = session.execute(delete(KokoroCheckIn).where(KokoroCheckIn.school_code == klass.school_code,
                                                       KokoroCheckIn.pupil_no == pupil_no))
    return int(getattr(gone, "rowcount", 0) or 0)


def withdraw_opt_out(session: Session, subject: Subject, class_id: int, pupil_no: str, *,
                     key: Ed25519PrivateKey | None = None, now: datetime | None = None) -> bool:
    """The guardian lets the pupil take part again (nothing from the opted-out time comes back)."""
    klass = session.get(KokoroClass, class_id)
    if klass is None:
        _decide(session, subject, "kokoro.optout", "none", key=key)
        raise NotFound("学級が見つかりません。")
    pupil_no = pupil_no.strip()
    _decide(session, subject, "kokoro.optout", relationship_to_class(subject, klass),
            person_id=person_of(session, klass.school_code, pupil_no) if PUPIL_NO.match(pupil_no) else None, key=key)
    rows = session.scalars(select(KokoroOptOut).where(KokoroOptOut.school_code == klass.school_code,
                                                      KokoroOptOut.pupil_no == pupil_no,
                                                      KokoroOptOut.withdrawn_at.is_(None))).all()
    for row in rows:
        row.withdrawn_at = now or datetime.now(UTC)
    return bool(rows)


@dataclass
class PupilRow:
    pupil_no: str
    opted_out: bool
    days: list[str]  # weather per day of the board ("" = no entry)
    word_today: str
    streak: int
    checked_in_today: bool


@dataclass
class Board:
    klass: KokoroClass
    days: list[date]
    rows: list[PupilRow] = field(default_factory=list)
    streak_entries: int = 0

    @property
    def missing(self) -> list[str]:
        return [r.pupil_no for r in self.rows if not r.opted_out and not r.checked_in_today]

    @property
    def today_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(WEATHERS, 0)
        for row in self.rows:
            if row.days and row.days[-1]:
                counts[row.days[-1]] += 1
        return counts


def visible_classes(session: Session, subject: Subject, *, key: Ed25519PrivateKey | None = None) -> list[KokoroClass]:
    """The classes the user's board offers (decided once; no pupil's data is read here)."""
    decision = authorise(session, subject, "kokoro.classes", PURPOSE, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    return [k for k in session.scalars(select(KokoroClass).order_by(KokoroClass.school_code, KokoroClass.label))
            if relationship_to_class(subject, k) != "none"]


def board(session: Session, subject: Subject, class_id: int, *, today: date, cipher: NoteCipher, streak_entries: int,
          key: Ed25519PrivateKey | None = None) -> Board:
    klass = session.get(KokoroClass, class_id)
    if klass is None:
        _decide(session, subject, "kokoro.board", "none", key=key)
        raise NotFound("学級が見つかりません。")
    relation = relationship_to_class(subject, klass)
    _decide(session, subject, "kokoro.board", relation, key=key)
    codes = session.scalars(select(PupilCode).where(PupilCode.class_id == klass.id, PupilCode.revoked_at.is_(None))
                            .order_by(PupilCode.pupil_no)).all()
    days = [today - timedelta(days=n) for n in range(BOARD_DAYS - 1, -1, -1)]
    view = Board(klass, days, streak_entries=streak_entries)
    for code in codes:
        _decide(session, subject, "kokoro.board", relation, person_id=code.person_id, key=key)
        out = opted_out(session, code.school_code, code.pupil_no)
        entries = {} if out else {e.day: e for e in session.scalars(select(KokoroCheckIn).where(
            KokoroCheckIn.school_code == code.school_code, KokoroCheckIn.pupil_no == code.pupil_no,
            KokoroCheckIn.day >= days[0], KokoroCheckIn.day <= today))}
        latest = entries.get(today)
        word = cipher.decrypt(latest.word_enc) if latest is not None and latest.word_enc else ""
        view.rows.append(PupilRow(code.pupil_no, out, [entries[d].weather if d in entries else "" for d in days],
                                  word, 0 if out else streak(session, code.school_code, code.pupil_no),
                                  latest is not None))
    alerts.acknowledge_all(session, subject.user_id, class_id=klass.id)
    return view


def export_csv(session: Session, subject: Subject, since: date, until: date, *,
               key: Ed25519PrivateKey | None = None) -> str:
    """The school's check-ins as its 心の天気 export (manifest ``kokoro_tenki``), for ``tsunagu ingest``:
    the screening indicator ``kokoro_rain_streak`` reads them from the schools' vault like any export."""
    _decide(session, subject, "kokoro.export", "same_school", key=key)
    schools = organisation_schools(subject.organisation)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"心の天気（つなぐ 子どものページ）{since.isoformat()}〜{until.isoformat()}"])
    writer.writerow(["学校コード", "児童生徒番号", "日付", "天気"])
    for row in session.scalars(select(KokoroCheckIn).where(KokoroCheckIn.day >= since, KokoroCheckIn.day <= until,
                                                           KokoroCheckIn.school_code.in_(schools))
                               .order_by(KokoroCheckIn.school_code, KokoroCheckIn.pupil_no, KokoroCheckIn.day)):
        writer.writerow([row.school_code, row.pupil_no, row.day.isoformat(), row.weather])
    return out.getvalue()
