"""Guardian accounts: enrolment with a one-time code sent by letter, a password, throttled sign-in.

Staff (the privacy officer, ``family.codes.issue``) issue a code for a guardian's resident record;
the letter carries the sign-in id and the code. The code is single-use, expires after the home's
``family_code_days``, and only the latest one issued is valid; it is stored as an argon2 hash, as
passwords are (the staff accounts' hasher and strength rule, ``work.users``). Sign-in and code
entry are throttled by the staff sign-in's rule (five failures within five minutes lock the id
for five minutes; guessing across many ids locks the address), counted in a table of their own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.errors import ExitCode
from tsunagu.privacy import Subject
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.family.models import FamilyAccount, FamilyAttempt, FamilyCode
from tsunagu.work.users import LOCK_MINUTES, address_lock_until, check_password, dummy_hash, lock_until

GUARDIAN_ROLE = "guardian"
# Shown as the organisation on the staff audit pages (a person reads it there): Japanese, not an id.
ORGANISATION = "家族向けページ"
# Letters and digits that cannot be mistaken for one another on paper (no 0/O, 1/I/L, 2/Z, 5/S, 8/B).
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 12  # 25^12 ≈ 2^55: with five tries per five minutes, out of reach within the code's life
_hasher = PasswordHasher()


class FamilySignInFailed(Refused):
    """Wrong id, code or password: one message for all, so an id's existence is not told. A refusal
    (``unit_of_work`` commits it): the failed attempt must stay on record for the lock."""

    code = "family_sign_in_failed"
    status = 401
    exit_code = ExitCode.REFUSED


class FamilyLocked(FamilySignInFailed):
    code = "family_locked"
    status = 429


@dataclass(frozen=True)
class Guardian:
    account_id: int
    login_id: str
    register_id: str  # the guardian's resident record (宛名番号)
    session_epoch: int

    @property
    def subject(self) -> Subject:
        # Not a staff account: its own id space, and a role no staff page's rule names.
        return Subject(f"guardian:{self.account_id}", GUARDIAN_ROLE, ORGANISATION)


def _guardian(row: FamilyAccount) -> Guardian:
    return Guardian(row.id, row.login_id, row.aza_number, row.session_epoch)


def format_code(raw: str) -> str:
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalise_code(text: str) -> str:
    """What was typed, as the code: case, spaces, hyphens and full-width letters forgiven."""
    import unicodedata
    return "".join(c for c in unicodedata.normalize("NFKC", text).upper() if c.isalnum())


def _new_login_id(session: Session) -> str:
    while True:
        candidate = "K-" + "-".join(f"{secrets.randbelow(10_000):04d}" for _ in range(2))
        if session.scalars(select(FamilyAccount.id).where(FamilyAccount.login_id == candidate)).first() is None:
            return candidate


def account_for(session: Session, register_id: str, issued_by: str, now: datetime) -> FamilyAccount:
    row = session.scalars(select(FamilyAccount).where(FamilyAccount.aza_number == register_id)).first()
    if row is None:
        row = FamilyAccount(login_id=_new_login_id(session), aza_number=register_id, password_hash=None,
                            session_epoch=0, disabled=False, created_at=now, created_by=issued_by)
        session.add(row)
        session.flush()
    return row


def new_code(session: Session, account: FamilyAccount, issued_by: str, days: int, now: datetime) -> tuple[str, datetime]:
    """A fresh code for the account (earlier unused ones revoked): the plain code, for the letter only."""
    if days < 1:
        raise Invalid("登録コードの有効期間は1日以上にしてください。")
    for old in session.scalars(select(FamilyCode).where(FamilyCode.account_id == account.id,
                                                        FamilyCode.used_at.is_(None), FamilyCode.revoked_at.is_(None))):
        old.revoked_at = now
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires = now + timedelta(days=days)
    session.add(FamilyCode(account_id=account.id, code_hash=_hasher.hash(raw), issued_at=now, issued_by=issued_by,
                           expires_at=expires, used_at=None, revoked_at=None))
    session.flush()
    return format_code(raw), expires


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def locked_until(session: Session, kind: str, login_id: str, ip: str, now: datetime) -> datetime | None:
    """The staff sign-in's throttle, over the family portal's own attempts of this kind."""
    since = now - timedelta(minutes=3 * LOCK_MINUTES)
    rows = session.scalars(select(FamilyAttempt).where(FamilyAttempt.at >= since, FamilyAttempt.kind == kind)
                           .order_by(FamilyAttempt.at, FamilyAttempt.id)).all()
    mine: list[datetime] = []
    for attempt in (r for r in rows if r.login_id == login_id):
        mine = [] if attempt.success else [*mine, _aware(attempt.at)]  # a success clears the id's count
    by_address = [(_aware(r.at), r.login_id) for r in rows if r.ip == ip and not r.success]
    ends = [end for end in (lock_until(mine), address_lock_until(by_address)) if end is not None and end > now]
    return max(ends) if ends else None


def _locked_message(kind: str) -> str:
    what = "登録コードの入力" if kind == "code" else "サインイン"
    return f"{what}の失敗が続いたため、{LOCK_MINUTES}分間できません。しばらくしてからやり直してください。"


def check_throttle(session: Session, kind: str, login_id: str, ip: str, now: datetime | None = None) -> None:
    if locked_until(session, kind, login_id, ip, now or datetime.now(UTC)) is not None:
        raise FamilyLocked(_locked_message(kind))


def _record(session: Session, kind: str, login_id: str, ip: str, ok: bool, now: datetime) -> None:
    session.add(FamilyAttempt(at=now, kind=kind, login_id=login_id[:64], ip=ip[:64], success=ok))
    session.flush()


def _verify(password_hash: str | None, given: str) -> bool:
    try:
        return _hasher.verify(password_hash if password_hash is not None else dummy_hash(), given) \
            and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def enrol(session: Session, login_id: str, code: str, password: str, password_again: str, ip: str,
          now: datetime | None = None) -> Guardian:
    """Use the code once and set the password. Every attempt counts toward the code-entry lock.

    The caller commits on failure too (the attempt must stay on record); argon2 runs inside the
    transaction here because enrolment happens once per family, not on every page."""
    moment = now or datetime.now(UTC)
    login_id = login_id.strip().upper()
    check_throttle(session, "code", login_id, ip, moment)
    if password != password_again:
        raise Invalid("確認のために入れたパスワードが一致しません。")
    check_password(password)
    account = session.scalars(select(FamilyAccount).where(FamilyAccount.login_id == login_id)).first()
    current = None if account is None else session.scalars(
        select(FamilyCode).where(FamilyCode.account_id == account.id, FamilyCode.used_at.is_(None),
                                 FamilyCode.revoked_at.is_(None)).order_by(FamilyCode.id.desc())).first()
    ok = _verify(current.code_hash if current is not None else None, normalise_code(code))
    fresh = current is not None and _aware(current.expires_at) > moment
    if not ok or not fresh or account is None or current is None or account.disabled:
        _record(session, "code", login_id, ip, False, moment)
        raise FamilySignInFailed("利用者番号または登録コードが違うか、登録コードの有効期限が切れています。"
                                 "市から届いた通知書を確かめてください。期限が切れたときは、市に新しいコードを頼んでください。")
    _record(session, "code", login_id, ip, True, moment)
    current.used_at = moment
    account.password_hash = _hasher.hash(password)
    account.enrolled_at = moment
    account.session_epoch += 1  # a password set again (a second letter) ends every earlier session
    account.last_login_at = moment
    session.flush()
    return _guardian(account)


def read_hash(session: Session, login_id: str, ip: str) -> str | None:
    """The account's password hash (None: no such account or not enrolled); FamilyLocked while locked."""
    check_throttle(session, "sign_in", login_id, ip)
    row = session.scalars(select(FamilyAccount).where(FamilyAccount.login_id == login_id)).first()
    return row.password_hash if row is not None and not row.disabled else None


def check_hash(password_hash: str | None, password: str) -> bool:
    """argon2, outside any transaction (as the staff sign-in does)."""
    return _verify(password_hash, password)


def record_sign_in(session: Session, login_id: str, checked_hash: str | None, ok: bool, ip: str,
                   now: datetime | None = None) -> Guardian:
    moment = now or datetime.now(UTC)
    check_throttle(session, "sign_in", login_id, ip, moment)  # attempts recorded since the check count
    row = session.scalars(select(FamilyAccount).where(FamilyAccount.login_id == login_id)).first()
    ok = ok and row is not None and not row.disabled and row.password_hash == checked_hash
    _record(session, "sign_in", login_id, ip, ok, moment)
    if not ok or row is None:
        raise FamilySignInFailed("利用者番号またはパスワードが違います。")
    row.last_login_at = moment
    session.flush()
    return _guardian(row)


def get_guardian(session: Session, account_id: int) -> Guardian | None:
    row = session.get(FamilyAccount, account_id)
    if row is None or row.disabled or row.password_hash is None:
        return None
    return _guardian(row)


def end_sessions(session: Session, account_id: int) -> None:
    row = session.get(FamilyAccount, account_id)
    if row is not None:
        row.session_epoch += 1
