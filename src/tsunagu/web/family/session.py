"""The family portal's own session: its own cookie (path /family), its own signing salt, its own CSRF.

A staff cookie is never read here, and this cookie is never sent outside /family (its path) nor
readable as a staff session (another salt and another shape): the two kinds of session share
nothing but the home's signing key file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tsunagu.web.security import IDLE_SECONDS, SignedValue

PREFIX = "/family"
COOKIE = "tsunagu_family"
PRE_COOKIE = "tsunagu_family_pre"  # carries the sign-in and enrolment forms' CSRF token


@dataclass(frozen=True)
class FamilySession:
    account_id: int
    epoch: int
    csrf: str

    def dump(self) -> dict[str, Any]:
        return {"g": self.account_id, "e": self.epoch, "c": self.csrf}


class FamilySigner:
    def __init__(self, secret: str, idle_seconds: int = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._session = SignedValue(secret, "tsunagu.family-session", idle_seconds)
        self._pre = SignedValue(secret, "tsunagu.family-pre-session", idle_seconds)

    def session_cookie(self, session: FamilySession) -> str:
        return self._session.dumps(session.dump())

    def read_session(self, value: str | None) -> FamilySession | None:
        data = self._session.loads(value)
        if not isinstance(data, dict) or set(data) != {"g", "e", "c"} or not isinstance(data["g"], int):
            return None
        return FamilySession(int(data["g"]), int(data["e"]), str(data["c"]))

    def pre_cookie(self, token: str) -> str:
        return self._pre.dumps(token)

    def read_pre(self, value: str | None) -> str | None:
        return self._pre.token(value)
