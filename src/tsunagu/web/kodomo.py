"""The children's pages' own session (``/kodomo``): a cookie of its own, on its own path, signed under
its own salt, that names a pupil code or holds an anonymous thread's key — never a staff account.

A staff cookie is never read by a children's page and a child's cookie is never sent to a staff page
(its path is ``/kodomo``), so neither can stand in for the other. The cookie has no expiry date (it
ends with the browser) and its signature is refused after 30 minutes without use, so a shared school
tablet does not keep a child's thread open for the next child; an anonymous writer comes back with
their re-entry word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from tsunagu.web.security import IDLE_SECONDS, SignedValue, new_token

COOKIE = "tsunagu_kodomo"
PRE_COOKIE = "tsunagu_kodomo_pre"
PATH = "/kodomo"


@dataclass(frozen=True)
class ChildSession:
    kind: str  # pupil (ref: the pupil code's row id) / anon (ref: the thread key)
    ref: str
    csrf: str

    def dump(self) -> dict[str, Any]:
        return {"k": self.kind, "r": self.ref, "c": self.csrf}


class ChildSigner:
    def __init__(self, secret: str, idle_seconds: int = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._session = SignedValue(secret, "tsunagu.kodomo", idle_seconds)
        self._pre = SignedValue(secret, "tsunagu.kodomo-pre", idle_seconds)

    def read(self, request: Request) -> ChildSession | None:
        data = self._session.loads(request.cookies.get(COOKIE))
        if not isinstance(data, dict) or data.get("k") not in ("pupil", "anon") or not {"r", "c"} <= data.keys():
            return None
        return ChildSession(str(data["k"]), str(data["r"]), str(data["c"]))

    def write(self, response: Response, session: ChildSession, *, secure: bool) -> None:
        response.set_cookie(COOKIE, self._session.dumps(session.dump()), httponly=True, samesite="strict",
                            secure=secure, path=PATH)

    def end(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=PATH)

    def pre_token(self, request: Request) -> str | None:
        return self._pre.token(request.cookies.get(PRE_COOKIE))

    def set_pre(self, response: Response, token: str, *, secure: bool) -> None:
        """The sign-in forms' CSRF token before there is a session (the page carries the same token)."""
        response.set_cookie(PRE_COOKIE, self._pre.dumps(token), httponly=True, samesite="strict", secure=secure,
                            path=PATH)


def new_session(kind: str, ref: str) -> ChildSession:
    return ChildSession(kind, ref, new_token())
