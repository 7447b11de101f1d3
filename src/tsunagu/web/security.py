"""Signed session cookies with an idle expiry, CSRF tokens, and the key that signs them.

The cookie holds only the user id, the account's session epoch and the CSRF token, signed (not
encrypted: nothing in it is secret but the signature) with a key kept in the home. It is
re-signed on every request, and a signature older than the idle limit is refused, so a session
ends after 30 minutes without use. Signing out or disabling the account bumps the epoch, which
ends every cookie issued before.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from tsunagu.privacy.keyfiles import create_secret, read_secret

SESSION_COOKIE = "tsunagu_session"
PRE_SESSION_COOKIE = "tsunagu_pre"  # carries the sign-in form's CSRF token before there is a session
IDLE_SECONDS = 30 * 60
KEY_PATH = Path("keys") / "web_session.key"


def load_or_create_secret(home: Path) -> str:
    """The cookie signing key, ``home/keys/web_session.key`` (0600), created on first use."""
    path = home / KEY_PATH
    if not path.exists():
        create_secret(path, secrets.token_urlsafe(48).encode("ascii") + b"\n")
    return read_secret(path).decode("ascii").strip()


@dataclass(frozen=True)
class WebSession:
    user_id: str
    epoch: int
    csrf: str

    def dump(self) -> dict[str, Any]:
        return {"u": self.user_id, "e": self.epoch, "c": self.csrf}


class SignedValue:
    """One kind of signed cookie value: its own salt, refused once idle too long.

    The staff, family and children's sessions each use their own salts, so no cookie of one kind
    reads as another; each checks the shape of what it reads itself."""

    def __init__(self, secret: str, salt: str, idle_seconds: int = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._serializer = URLSafeTimedSerializer(secret, salt=salt)

    def dumps(self, payload: Any) -> str:
        return self._serializer.dumps(payload)

    def loads(self, value: str | None) -> Any:
        """What was signed, or None for no value, a bad signature or one idle too long."""
        if not value:
            return None
        try:
            return self._serializer.loads(value, max_age=self.idle_seconds)
        except BadSignature:  # also SignatureExpired: idle too long
            return None

    def token(self, value: str | None) -> str | None:
        """A signed CSRF token (the pre-session cookies), or None."""
        token = self.loads(value)
        return token if isinstance(token, str) else None


class CookieSigner:
    def __init__(self, secret: str, idle_seconds: int = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._session = SignedValue(secret, "tsunagu.session", idle_seconds)
        self._pre = SignedValue(secret, "tsunagu.pre-session", idle_seconds)

    def session_cookie(self, session: WebSession) -> str:
        return self._session.dumps(session.dump())

    def read_session(self, value: str | None) -> WebSession | None:
        data = self._session.loads(value)
        if not isinstance(data, dict) or not {"u", "e", "c"} <= data.keys():
            return None
        return WebSession(str(data["u"]), int(data["e"]), str(data["c"]))

    def pre_session_cookie(self, token: str) -> str:
        return self._pre.dumps(token)

    def read_pre_session(self, value: str | None) -> str | None:
        return self._pre.token(value)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(text: str) -> tuple[Network, ...]:
    """The trusted proxies' addresses or networks, comma-separated (``Settings.trusted_proxies``)."""
    networks = []
    for part in text.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"trusted_proxies: アドレスとして読めません: {part.strip()!r} / not an address") from exc
    return tuple(networks)


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client's address for the sign-in throttle.

    X-Forwarded-For is honoured only when the connection comes from a trusted proxy, and then read
    from the right: the first address that is not itself a trusted proxy is the client (anything
    further left was written by the client and proves nothing). Without trusted proxies a forged
    header changes nothing.
    """
    address = peer or "unknown"
    if not forwarded_for or not _trusted(address, proxies):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed chain: keep the proxy's address rather than guess
        if not _trusted(hop, proxies):
            return hop
        address = hop
    return address
