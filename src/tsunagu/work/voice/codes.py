"""Codes on slips, anonymous thread keys, re-entry words, and the throttle on guessing them.

A pupil code is ten letters and digits from an alphabet without look-alikes (0/O, 1/I/L), 50 bits:
printed once on a slip, stored only as an HMAC under a key kept in the home
(``keys/voice_codes.key``), so a copy of the database cannot be turned back into codes. The same
key hashes anonymous thread keys and re-entry words. Failed attempts count per address in the
sign-in throttle's table: ten within fifteen minutes lock that address for fifteen minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.errors import RefusedError
from tsunagu.privacy.keyfiles import create_secret, read_secret
from tsunagu.work.models import LoginAttempt
from tsunagu.work.voice.config import fold

KEY_PATH = Path("keys") / "voice_codes.key"
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
THROTTLE_USER = "(kodomo)"
MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)
# Simple words a first-grader reads; two of them and four digits make a re-entry word.
WORDS = ("そら", "うみ", "やま", "かわ", "はな", "ほし", "つき", "くも", "かぜ", "もり", "いぬ", "ねこ", "とり",
         "さかな", "くま", "うさぎ", "りす", "きつね", "たぬき", "かめ", "いるか", "くじら", "ぱんだ", "りんご",
         "みかん", "いちご", "ぶどう", "もも", "くり", "ぱん", "おにぎり", "ぼうし", "くつ", "かさ", "ふね",
         "でんしゃ", "ひこうき", "ろけっと", "たいよう", "にじ", "ゆき", "あめだま", "どんぐり", "さくら", "ひまわり",
         "たんぽぽ", "ちょう", "ばった", "かえる", "こあら", "ぺんぎん", "らいおん", "ぞう", "きりん", "しまうま",
         "すいか", "めろん", "ばなな", "とまと", "えんぴつ", "のーと", "ほん", "たいこ", "ふえ")


class CodeLocked(RefusedError):
    """Too many wrong codes or words from one address."""

    code = "kodomo_locked"
    status = 429
    message = "まちがいが つづいたので、15分 まってから もういちど いれてください。"

    def __init__(self) -> None:
        super().__init__(self.message)


def code_key(home: Path) -> bytes:
    path = home / KEY_PATH
    if not path.exists():
        create_secret(path, secrets.token_urlsafe(48).encode("ascii") + b"\n")
    return read_secret(path).strip()


def digest(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What a child types: full width, lower case, spaces and hyphens are all forgiven."""
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", text).upper())


def printed(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def new_thread_key() -> str:
    return secrets.token_urlsafe(32)


def new_reentry_word() -> str:
    return f"{secrets.choice(WORDS)}・{secrets.choice(WORDS)}・{secrets.randbelow(10000):04d}"


def normalise_word(text: str) -> str:
    return fold(text)


def check_throttle(session: Session, ip: str, now: datetime | None = None) -> None:
    moment = now or datetime.now(UTC)
    failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.user_id == THROTTLE_USER, LoginAttempt.ip == ip, LoginAttempt.success.is_(False),
        LoginAttempt.at >= moment - WINDOW)) or 0
    if failures >= MAX_FAILURES:
        raise CodeLocked()


def record_attempt(session: Session, ip: str, success: bool, now: datetime | None = None) -> None:
    session.add(LoginAttempt(at=now or datetime.now(UTC), user_id=THROTTLE_USER, ip=ip, success=success))
