"""Signed HTTP between two municipalities' tsunagu: the client and the checks of the receiving API.

Each request is signed by the sending municipality's Ed25519 key over (path, receiver, sender,
timestamp, nonce, body sha256) — the node protocol's shape, with the path inside so a message for
one endpoint cannot be replayed at another. A request is accepted only from a registered, active
municipality, within ±``window`` of the receiver's clock, with a nonce never seen before (kept in
the hub, so a restart or a second worker still refuses a replay). Every answer is signed by the
receiver, so a sender can tell the real municipality's refusal from a stranger's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.errors import RefusedError, UnavailableError
from tsunagu.handover.envelope import PROTOCOL
from tsunagu.handover.keys import Identity, parse_sign_key
from tsunagu.handover.models import HandoverNonce, TrustedMunicipality
from tsunagu.vault.http import signing

H_FROM, H_TIMESTAMP, H_NONCE = "X-Tsunagu-Municipality", "X-Tsunagu-Timestamp", "X-Tsunagu-Nonce"
H_DIGEST, H_SIGNATURE = "X-Tsunagu-Content-SHA256", "X-Tsunagu-Signature"
H_TO = "X-Tsunagu-Recipient"
WINDOW_S = 300.0
PATHS = ("packages", "receipts")


class TransportError(UnavailableError, RuntimeError):
    """The other municipality could not be reached, or its answer is not its own."""

    code = "handover_unreachable"


def request_message(path: str, recipient: str, sender: str, timestamp: str, nonce: str, digest: str) -> bytes:
    return "\n".join((PROTOCOL, "request", path, recipient, sender, timestamp, nonce, digest)).encode("utf-8")


def response_message(responder: str, nonce: str, status: int, digest: str) -> bytes:
    return "\n".join((PROTOCOL, "response", responder, nonce, str(status), digest)).encode("utf-8")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def post(peer: TrustedMunicipality, path: str, body: bytes, identity: Identity, *, timeout: float = 30.0,
         now: datetime | None = None, transport: httpx.BaseTransport | None = None) -> Answer:
    """POST a signed message to ``peer``; the answer must carry the peer's signature."""
    if peer.endpoint is None:
        raise TransportError(f"{peer.name} には送付先URLが登録されていません（ファイルで送ってください） / no endpoint")
    stamp, nonce, digest = signing.utc_timestamp(now), signing.new_nonce(), signing.body_sha256(body)
    headers = {H_FROM: identity.code, H_TO: peer.code, H_TIMESTAMP: stamp, H_NONCE: nonce, H_DIGEST: digest,
               H_SIGNATURE: signing.sign(identity.sign_key, request_message(path, peer.code, identity.code, stamp,
                                                                           nonce, digest)),
               "Content-Type": "application/json"}
    url = peer.endpoint.rstrip("/") + f"/v1/{path}"
    try:
        with httpx.Client(timeout=timeout, trust_env=False, transport=transport) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise TransportError(f"{peer.name} に接続できません: {exc} / cannot reach {url}") from exc
    responder = response.headers.get(H_FROM, "")
    if responder and responder != peer.code:
        raise TransportError(f"wrong_recipient: {peer.name}（{peer.code}）宛ての送付に別の自治体（{responder[:6]}）が応答しました。"
                             f"登録された送付先URLを確認してください / another municipality answered (HTTP {response.status_code})")
    signature = response.headers.get(H_SIGNATURE, "")
    message = response_message(peer.code, nonce, response.status_code, signing.body_sha256(response.content))
    if not signing.verify(parse_sign_key(peer.sign_key), signature, message):
        raise TransportError(f"{peer.name} の署名がない応答です（相手を確認できません） / unsigned or forged answer "
                             f"(HTTP {response.status_code})")
    return Answer(response.status_code, response.content)


class Refusal(RefusedError):
    """A signed request from another municipality refused before its body is read; ``code`` and
    ``status`` are what the receiving API answers (``bad_signature`` 401, ``wrong_recipient`` 421 …)."""

    def __init__(self, status: int, code: str, message: str, claimed: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message
        self.claimed = claimed
        super().__init__(f"{code}: {message}")


def authenticate(session: Session, path: str, own_code: str, body: bytes, headers: Mapping[str, str],
                 now: datetime, window_s: float = WINDOW_S) -> TrustedMunicipality:
    """The registered sender of a signed request, or Refusal; the nonce is remembered in ``session``."""
    names = (H_FROM, H_TIMESTAMP, H_NONCE, H_DIGEST, H_SIGNATURE)
    claimed = (headers.get(H_FROM) or "")[:6]
    missing = [n for n in names if not headers.get(n)]
    if missing:
        raise Refusal(401, "bad_signature", f"署名ヘッダーがありません: {', '.join(missing)} / missing headers", claimed)
    stamp, nonce, digest = headers[H_TIMESTAMP], headers[H_NONCE], headers[H_DIGEST]
    addressed = headers.get(H_TO, own_code)
    if addressed != own_code:
        raise Refusal(421, "wrong_recipient", f"宛先が違います（{addressed[:6]} 宛て） / addressed to another municipality",
                      claimed)
    peer = session.get(TrustedMunicipality, headers[H_FROM])
    if peer is None or not peer.active:
        raise Refusal(401, "unknown_sender", f"登録されていない自治体からの送付です: {claimed!r} / unknown sender", claimed)
    if not signing.NONCE_RE.match(nonce) or signing.body_sha256(body) != digest:
        raise Refusal(401, "bad_signature", "本文のハッシュまたは nonce が不正です / digest or nonce mismatch", claimed)
    key: Ed25519PublicKey = parse_sign_key(peer.sign_key)
    if not signing.verify(key, headers[H_SIGNATURE], request_message(path, own_code, peer.code, stamp, nonce, digest)):
        raise Refusal(401, "bad_signature", "送付元の署名を検証できません / signature does not verify", claimed)
    sent = signing.parse_timestamp(stamp)
    if sent is None or abs(now - sent) > timedelta(seconds=window_s):
        raise Refusal(401, "stale", f"送付の時刻が許容範囲（±{int(window_s)}秒）の外です / timestamp outside the window",
                      claimed)
    # A nonce older than two windows can only come with a stale timestamp, refused above: forget it.
    session.execute(delete(HandoverNonce).where(HandoverNonce.at < now - timedelta(seconds=2 * window_s)))
    try:
        with session.begin_nested():
            session.add(HandoverNonce(nonce=nonce, peer_code=peer.code, at=now))
    except IntegrityError:
        raise Refusal(401, "replay", "同じ送付が既に届いています（再送攻撃として拒否） / nonce already seen: replay",
                      claimed) from None
    return peer


def sign_response(identity: Identity, nonce: str, status: int, body: bytes) -> dict[str, str]:
    message = response_message(identity.code, nonce, status, signing.body_sha256(body))
    return {H_FROM: identity.code, H_SIGNATURE: signing.sign(identity.sign_key, message)}
