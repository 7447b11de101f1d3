"""Local accounts: argon2 password hashes, roles from the privacy policy, sign-in throttling.

Managing accounts is the policy's ``users.manage`` (administration); signing in is not an act on
anyone's data, so it is throttled (per user and per address) rather than audited in the chain.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.errors import ExitCode, TsunaguError
from tsunagu.privacy import AuditEvent, Subject, append
from tsunagu.privacy.policy import Policy, policy_of
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.models import LoginAttempt, User

USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
MIN_PASSWORD_CHARS = 12
MAX_FAILURES = 5
LOCK_MINUTES = 5
# An address is locked only for guessing across accounts (password spraying): this many failures
# within LOCK_MINUTES against at least ADDRESS_MIN_ACCOUNTS different accounts. Five bad passwords
# for one account lock that account, never the address — behind a reverse proxy every staff
# member may share one address, and one attacked account must not lock them all out.
ADDRESS_MAX_FAILURES = 20
ADDRESS_MIN_ACCOUNTS = 3

_hasher = PasswordHasher()


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the account is unknown, so that takes as long as a wrong
    password. Made on first use (hashing at import cost every command 0.15 s); a server makes it
    at start with ``prepare_sign_in``, so its first unknown account is not the slower one."""
    return _hasher.hash(secrets.token_urlsafe(16))


def prepare_sign_in() -> None:
    dummy_hash()


class LoginFailed(TsunaguError):
    """Wrong user, wrong password or a disabled account: one message for all, on purpose."""

    code = "login_failed"
    status = 401
    exit_code = ExitCode.REFUSED

    message = "利用者IDまたはパスワードが違います。"


class LoginLocked(LoginFailed):
    def __init__(self, until: datetime) -> None:
        super().__init__()
        self.until = until

    @property
    def message(self) -> str:  # type: ignore[override]
        return "サインインの失敗が続いたため、5分間サインインできません。しばらくしてからやり直してください。"


@dataclass(frozen=True)
class Account:
    user_id: str
    display_name: str
    role: str
    role_label: str
    organisation: str
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None
    session_epoch: int
    created_by: str | None = None
    approved_by: str | None = None
    needs_approval: bool = True  # the role reads children's records (``needs_approval``)

    @property
    def pending(self) -> bool:
        """Waiting for the second person's approval: cannot sign in yet."""
        return self.needs_approval and self.approved_by is None

    @property
    def subject(self) -> Subject:
        return Subject(self.user_id, self.role, self.organisation)


def _account(policy: Policy, row: User) -> Account:
    role = policy.roles.get(row.role)
    return Account(row.user_id, row.display_name, row.role, role.label if role else row.role, row.organisation,
                   row.disabled, row.created_at, row.last_login_at, row.session_epoch, row.created_by,
                   row.approved_by, needs_approval(policy, row.role))


def needs_approval(policy: Policy, role: str) -> bool:
    """A role that reads children's records (the policy's ``child_detail``): giving it is a grant of
    access to children, which one administrator alone must not be able to make (and then use)."""
    spec = policy.roles.get(role)
    return spec is None or spec.child_detail


def _manage(session: Session, subject: Subject, key: Ed25519PrivateKey | None, *, action: str = "users.manage",
            account: str | None = None, role: str | None = None, note: str = "") -> None:
    """Decide and record; the entry names the account and the role acted on (``account:``, ``role:``)."""
    decision = policy_of(session).decide(subject, action, "administration")
    targets = tuple(t for t in (f"account:{account}" if account else "", f"role:{role}" if role else "") if t)
    reason = f"{decision.reason}{note}" if decision.allowed else decision.reason
    event = AuditEvent.from_decision(subject, decision, action, "administration", items=targets)
    append(session, replace(event, reason=reason), key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise Invalid(f"パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください。", field="password")


def create_user(
    session: Session, subject: Subject, user_id: str, *, role: str, display_name: str, organisation: str,
    password: str, key: Ed25519PrivateKey | None = None, approver: Subject | None = None,
) -> Account:
    """Create an account. In a role that reads children it stays pending (no sign-in) until a second
    person approves it (``approve_user``); ``approver`` does that in the same transaction, for set-ups
    where the second person is at hand (a demo, a test home) — still a different, recorded person."""
    _manage(session, subject, key, account=user_id, role=role, note="（利用者の作成）")
    if not USER_ID.match(user_id):
        raise Invalid("利用者IDは英数字と . _ - で2〜64文字にしてください。", field="user_id")
    if role not in policy_of(session).roles:
        raise Invalid("役割を一覧から選んでください。", field="role")
    if not display_name.strip():
        raise Invalid("氏名を入力してください。", field="display_name")
    check_password(password)
    if session.get(User, user_id) is not None:
        raise Invalid(f"利用者ID {user_id} は既に使われています。", field="user_id")
    row = User(user_id=user_id, display_name=display_name.strip(), role=role, organisation=organisation.strip(),
               password_hash=_hasher.hash(password), disabled=False, created_at=datetime.now(UTC), session_epoch=0,
               created_by=subject.user_id, approved_by=None if needs_approval(policy_of(session), role) else subject.user_id)
    session.add(row)
    session.flush()
    if approver is not None and row.approved_by is None:
        return approve_user(session, approver, user_id, key=key)
    return _account(policy_of(session), row)


def approve_user(session: Session, approver: Subject, user_id: str, *,
                 key: Ed25519PrivateKey | None = None) -> Account:
    """The second person: another administrator or the privacy officer approves a pending account."""
    row = session.get(User, user_id)
    _manage(session, approver, key, action="users.approve", account=user_id, role=row.role if row else None,
            note="（役割付与の承認）")
    if row is None:
        raise NotFound(f"利用者 {user_id} はいません。")
    if row.approved_by is not None:
        raise Invalid(f"利用者 {user_id} は承認済みです（{row.approved_by}）。")
    if row.created_by == approver.user_id:
        raise Invalid("アカウントを作成した人は、自分で承認できません。別の管理者か個人情報保護担当が承認してください。")
    row.approved_by = approver.user_id
    row.approved_at = datetime.now(UTC)
    session.flush()
    return _account(policy_of(session), row)


def set_password(session: Session, user_id: str, password: str) -> None:
    """Give an account a new password (the demo's fresh passwords); its open sessions end."""
    check_password(password)
    row = session.get(User, user_id)
    if row is None:
        raise Invalid(f"利用者 {user_id} はいません。")
    row.password_hash = _hasher.hash(password)
    row.session_epoch += 1


def list_users(session: Session, subject: Subject, *, key: Ed25519PrivateKey | None = None) -> list[Account]:
    _manage(session, subject, key)
    return [_account(policy_of(session), u) for u in session.scalars(select(User).order_by(User.user_id))]


def pending_users(session: Session, subject: Subject, *, key: Ed25519PrivateKey | None = None) -> list[Account]:
    """Accounts waiting for a second person's approval (for the approvers: another administrator or the
    privacy officer)."""
    _manage(session, subject, key, action="users.approve")
    rows = session.scalars(select(User).where(User.approved_by.is_(None), User.disabled.is_(False))
                           .order_by(User.user_id))
    return [a for a in (_account(policy_of(session), row) for row in rows) if a.pending]


def disable_user(session: Session, subject: Subject, user_id: str, *, key: Ed25519PrivateKey | None = None) -> Account:
    row = session.get(User, user_id)
    _manage(session, subject, key, account=user_id, role=row.role if row else None, note="（利用者の無効化）")
    if row is None:
        raise NotFound(f"利用者 {user_id} はいません。")
    row.disabled = True
    row.session_epoch += 1  # signed-in sessions end now, not at their idle expiry
    session.flush()
    return _account(policy_of(session), row)


def get_account(session: Session, user_id: str) -> Account | None:
    row = session.get(User, user_id)
    return _account(policy_of(session), row) if row is not None else None


def end_sessions(session: Session, user_id: str) -> None:
    row = session.get(User, user_id)
    if row is not None:
        row.session_epoch += 1


def lock_until(failures: Sequence[datetime]) -> datetime | None:
    """The end of a lock: MAX_FAILURES failures within LOCK_MINUTES lock for LOCK_MINUTES after the last."""
    window = timedelta(minutes=LOCK_MINUTES)
    ends = [failures[i + MAX_FAILURES - 1] + window for i in range(len(failures) - MAX_FAILURES + 1)
            if failures[i + MAX_FAILURES - 1] - failures[i] <= window]
    return max(ends) if ends else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _failures(session: Session, *, user_id: str | None = None, ip: str | None = None, since: datetime) -> list[datetime]:
    return [at for at, _user in _failed_attempts(session, user_id=user_id, ip=ip, since=since)]


def _failed_attempts(session: Session, *, user_id: str | None = None, ip: str | None = None,
                     since: datetime) -> list[tuple[datetime, str]]:
    stmt = select(LoginAttempt).where(LoginAttempt.at >= since).order_by(LoginAttempt.at)
    if user_id is not None:
        stmt = stmt.where(LoginAttempt.user_id == user_id)
    if ip is not None:
        stmt = stmt.where(LoginAttempt.ip == ip)
    failures: list[tuple[datetime, str]] = []
    for attempt in session.scalars(stmt):
        if attempt.success and user_id is not None:
            failures = []  # a success clears the user's count (not the address's: one account must not reset it)
        elif not attempt.success:
            failures.append((_aware(attempt.at), attempt.user_id))
    return failures


def address_lock_until(failures: Sequence[tuple[datetime, str]]) -> datetime | None:
    """The end of an address's lock: ADDRESS_MAX_FAILURES failures within LOCK_MINUTES, against at
    least ADDRESS_MIN_ACCOUNTS accounts (guessing across accounts, not one account's bad day)."""
    window = timedelta(minutes=LOCK_MINUTES)
    ends = []
    for i, (at, _user) in enumerate(failures):
        recent = [user for when, user in failures[: i + 1] if at - when <= window]
        if len(recent) >= ADDRESS_MAX_FAILURES and len(set(recent)) >= ADDRESS_MIN_ACCOUNTS:
            ends.append(at + window)
    return max(ends) if ends else None


def locked_until(session: Session, user_id: str, ip: str, now: datetime | None = None) -> datetime | None:
    moment = now or datetime.now(UTC)
    since = moment - timedelta(minutes=3 * LOCK_MINUTES)
    ends = [end for end in (lock_until(_failures(session, user_id=user_id, since=since)),
                            address_lock_until(_failed_attempts(session, ip=ip, since=since)))
            if end is not None and end > moment]
    return max(ends) if ends else None


@dataclass(frozen=True)
class PasswordCheck:
    """The slow half of a sign-in (argon2), done outside any writing transaction."""

    user_id: str
    checked_hash: str | None  # the account's hash as read (None: no such account)
    ok: bool
    new_hash: str | None  # a rehash under the current parameters, when they changed


def read_credentials(session: Session, user_id: str, ip: str, now: datetime | None = None) -> str | None:
    """The account's password hash (None: no such account); LoginLocked while the throttle holds."""
    until = locked_until(session, user_id, ip, now or datetime.now(UTC))
    if until is not None:
        raise LoginLocked(until)  # not recorded: retrying while locked must not extend the lock
    row = session.get(User, user_id)
    return row.password_hash if row is not None else None


def check_password_hash(user_id: str, password_hash: str | None, password: str) -> PasswordCheck:
    """argon2 (memory-hard, a good part of a second of CPU): touches no database."""
    ok: bool
    try:
        ok = _hasher.verify(password_hash if password_hash is not None else dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and password_hash is not None
    rehash = _hasher.hash(password) if ok and password_hash and _hasher.check_needs_rehash(password_hash) else None
    return PasswordCheck(user_id, password_hash, ok, rehash)


def record_sign_in(session: Session, check: PasswordCheck, ip: str, now: datetime | None = None) -> Account:
    """The quick half, in the writing transaction: the attempt is recorded, and the throttle asked again
    (attempts recorded since the check count), so parallel attempts get no more guesses than serial ones."""
    moment = now or datetime.now(UTC)
    until = locked_until(session, check.user_id, ip, moment)
    if until is not None:
        raise LoginLocked(until)
    row = session.get(User, check.user_id)
    # A password changed since the check is not the password that was checked.
    # A pending account (no second person's approval yet) cannot sign in either; same message.
    ok = check.ok and row is not None and not row.disabled and row.password_hash == check.checked_hash \
        and not _account(policy_of(session), row).pending
    session.add(LoginAttempt(at=moment, user_id=check.user_id[:64], ip=ip[:64], success=ok))
    if not ok or row is None:
        session.flush()
        raise LoginFailed()
    row.last_login_at = moment
    if check.new_hash is not None:
        row.password_hash = check.new_hash
    session.flush()
    return _account(policy_of(session), row)


def authenticate(session: Session, user_id: str, password: str, ip: str, now: datetime | None = None) -> Account:
    """The account, or LoginFailed / LoginLocked, in one transaction. Every attempt (but a locked one) is
    recorded. The web app splits it (``read_credentials`` → ``check_password_hash`` → ``record_sign_in``)
    so that argon2 never runs while the hub's write lock is held."""
    password_hash = read_credentials(session, user_id, ip, now)
    return record_sign_in(session, check_password_hash(user_id, password_hash, password), ip, now)


def colleagues(session: Session) -> list[tuple[str, str]]:
    """(user id, name) of active accounts, for choosing a follow-up's owner (staff, not children)."""
    rows = session.execute(select(User.user_id, User.display_name).where(User.disabled.is_(False))
                           .order_by(User.user_id)).all()
    return [(uid, name) for uid, name in rows]
