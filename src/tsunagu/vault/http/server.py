"""A department's node as an HTTP service: the same ``LocalNode``, behind signatures.

The service checks every message before the node sees it — the hub's signature, a clock window
and a nonce never seen before — and signs every reply, refusals included, so the hub can tell a
real refusal from a forged one. Refused messages are written to the vault's ``request_log`` like
any other request, so the department's own log holds the evidence of an attack as well.

Seen nonces are kept in memory and recorded in the ``nonce`` column of ``request_log`` (the node
writes the message's nonce with the request it passes on; this service writes it in the rows of
the messages it refuses itself, once their signature has verified). A restarted node reads back
the nonces of the last two windows, so a replay stays refused across a restart.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import FastAPI, Request, Response
from sqlalchemy import insert, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tsunagu.vault import schema
from tsunagu.vault.http import signing, wire
from tsunagu.vault.node import LocalNode, NodeAnswer, NodeRefusedError, RequestKind
from tsunagu.vault.store import Vault

DEFAULT_WINDOW_S = 120.0
MAX_BODY_BYTES = 1 << 20
_LOG_SCAN_BATCH = 500

log = logging.getLogger(__name__)


class ReplayGuard:
    """Nonces seen within the window; a nonce is forgotten only once its message would be stale."""

    def __init__(self) -> None:
        self._expiry: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: datetime) -> None:
        while self._heap and self._heap[0][0] < now:
            expires, nonce = heapq.heappop(self._heap)
            if self._expiry.get(nonce) == expires:
                del self._expiry[nonce]

    def add(self, nonce: str, expires: datetime, now: datetime) -> bool:
        """Remember ``nonce``; False when it was already seen (a replay)."""
        with self._lock:
            self._purge(now)
            if nonce in self._expiry:
                return False
            self._expiry[nonce] = expires
            heapq.heappush(self._heap, (expires, nonce))
            return True

    def load(self, entries: Iterable[tuple[str, datetime]], now: datetime) -> None:
        for nonce, expires in entries:
            if expires >= now:
                self.add(nonce, expires, now)


def nonces_from_log(vault: Vault, since: datetime) -> list[tuple[str, datetime]]:
    """(nonce, logged at) of the log rows written since ``since``, newest first."""
    found: list[tuple[str, datetime]] = []
    log_table = schema.request_log
    query = select(log_table.c.at, log_table.c.nonce).order_by(log_table.c.log_id.desc())
    with vault.reading() as conn:
        result = conn.execution_options(stream_results=True).execute(query)
        # The log is append-only, so walking back by id walks back in time; stop at the first old row.
        while batch := result.fetchmany(_LOG_SCAN_BATCH):
            for at, nonce in batch:
                at_utc = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
                if at_utc < since:
                    result.close()
                    return found
                if nonce:
                    found.append((nonce, at_utc))
    return found


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    nonce: str


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, *, authenticated: bool = True) -> None:
        self.status = status
        self.code = code
        self.message = message
        # Only a verified signature makes the nonce the hub's; an unverified one is any stranger's claim.
        self.authenticated = authenticated
        super().__init__(message)


class NodeService:
    """The checks, the node call and the log, independent of the web framework."""

    def __init__(self, node: LocalNode, *, node_key: Ed25519PrivateKey, hub_keys: Mapping[str, Ed25519PublicKey],
                 window_s: float = DEFAULT_WINDOW_S, clock: Callable[[], datetime] | None = None) -> None:
        self.node = node
        self.department = node.department
        self.node_key = node_key
        self.hub_keys = dict(hub_keys)
        self.window = timedelta(seconds=window_s)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.guard = ReplayGuard()
        now = self.clock()
        self.guard.load(((n, at + 2 * self.window) for n, at in nonces_from_log(node.vault, now - 2 * self.window)), now)

    # -- checks -----------------------------------------------------------------------------------
    def _authenticate(self, body: bytes, headers: Mapping[str, str]) -> str:
        names = (wire.H_HUB, wire.H_TIMESTAMP, wire.H_NONCE, wire.H_DIGEST, wire.H_SIGNATURE)
        missing = [n for n in names if not headers.get(n)]
        if missing:
            raise _Refusal(401, "bad_signature", f"署名ヘッダーがありません / missing signature headers: {', '.join(missing)}",
                           authenticated=False)
        hub, stamp, nonce = headers[wire.H_HUB], headers[wire.H_TIMESTAMP], headers[wire.H_NONCE]
        digest, signature = headers[wire.H_DIGEST], headers[wire.H_SIGNATURE]
        if not signing.NONCE_RE.match(nonce):
            raise _Refusal(401, "bad_signature", "nonce の形式が不正です / malformed nonce", authenticated=False)
        key = self.hub_keys.get(hub)
        if key is None:
            raise _Refusal(401, "unknown_hub", f"登録されていない要求元です: {hub!r} / unknown hub id", authenticated=False)
        if signing.body_sha256(body) != digest:
            raise _Refusal(401, "bad_signature", "本文のハッシュが署名と一致しません / body digest mismatch",
                           authenticated=False)
        if not signing.verify(key, signature, signing.request_message(self.department, hub, stamp, nonce, digest)):
            raise _Refusal(401, "bad_signature", "署名を検証できません / signature does not verify", authenticated=False)
        sent = signing.parse_timestamp(stamp)
        now = self.clock()
        window = int(self.window.total_seconds())
        if sent is None:
            raise _Refusal(401, "stale", "時刻の形式が不正です（タイムゾーン付きISO形式） / malformed timestamp")
        if abs(now - sent) > self.window:
            skew = int((now - sent).total_seconds())
            raise _Refusal(401, "stale", f"要求の時刻が許容範囲（±{window}秒）の外です / timestamp outside the "
                                         f"±{window} s window (off by {skew} s)")
        if not self.guard.add(nonce, sent + self.window, now):
            raise _Refusal(401, "replay", "同じ要求が既に届いています（再送攻撃として拒否） / nonce already seen: replay refused")
        return hub

    def _parse(self, kind: RequestKind, body: bytes, local_id: str | None) -> wire.WireRequest:
        try:
            request = wire.parse_request(body)
        except wire.WireError as exc:
            raise _Refusal(400, "bad_request", str(exc)) from exc
        if request.department != self.department:
            raise _Refusal(400, "bad_request", f"宛先の部署が違います / addressed to {request.department!r}")
        if request.kind != kind:
            raise _Refusal(400, "bad_request", f"要求の種類が窓口と一致しません / kind {request.kind!r} sent to {kind!r}")
        if kind in ("items", "unreadable") and request.as_of is None:
            raise _Refusal(400, "bad_request", f"基準日（as_of）がありません / {kind} need as_of")
        if kind == "record" and (not request.source or request.local_id != local_id):
            raise _Refusal(400, "bad_request", "source と local_id が必要です / record needs source and matching local_id")
        if kind == "records" and (not request.source or request.local_ids is None
                                  or any(source != request.source for source, _ in request.local_ids)):
            raise _Refusal(400, "bad_request", "source と同じ source の local_ids が必要です / records need source and "
                                               "local_ids of that source")
        if kind not in ("identifiers", "records") and request.local_ids is not None:
            raise _Refusal(400, "bad_request", f"local_ids は識別情報と複数記録の要求にだけ使えます / local_ids sent to {kind!r}")
        return request

    # -- the exchange -----------------------------------------------------------------------------
    def handle(self, kind: RequestKind, body: bytes, headers: Mapping[str, str], local_id: str | None = None) -> Reply:
        nonce = headers.get(wire.H_NONCE, "")
        try:
            hub = self._authenticate(body, headers)
            request = self._parse(kind, body, local_id)
        except _Refusal as refusal:
            self._log_refusal(kind, body, headers, refusal.code, refusal.message, "refused",
                              authenticated=refusal.authenticated)
            return Reply(refusal.status, wire.error_body(refusal.code, refusal.message), nonce)
        try:
            body_out = wire.answer_body(self._call(kind, request, nonce), kind)
        except NodeRefusedError as exc:
            return Reply(403, wire.error_body("refused", exc.reason), nonce)
        except Exception:
            log.exception("node %s failed on %s from %s", self.department, kind, hub)
            message = "ノード内部のエラーです / internal node error"
            self._log_refusal(kind, body, headers, "internal", message, "error")
            return Reply(500, wire.error_body("internal", message), nonce)
        return Reply(200, body_out, nonce)

    def _call(self, kind: RequestKind, request: wire.WireRequest, nonce: str) -> NodeAnswer:
        # The signature has verified, so the nonce is the hub's: the node logs it with the request.
        node_request = request.node_request(nonce)
        if kind == "identifiers":
            return self.node.identifiers(node_request, request.as_of, local_ids=request.local_ids)
        if kind == "items":
            assert request.as_of is not None  # checked in _parse
            return self.node.items(node_request, request.as_of)
        if kind == "unreadable":
            assert request.as_of is not None  # checked in _parse
            return self.node.unreadable(node_request, request.as_of)
        if kind == "records":
            assert request.source is not None and request.local_ids is not None  # checked in _parse
            return self.node.records(node_request, request.source, [i for _, i in request.local_ids], request.as_of)
        assert request.source is not None and request.local_id is not None  # checked in _parse
        return self.node.record(node_request, request.source, request.local_id, request.as_of)

    def _log_refusal(self, kind: RequestKind, body: bytes, headers: Mapping[str, str], code: str, message: str,
                     outcome: str, *, authenticated: bool = True) -> None:
        """Log a message the node never passed on; its fields are claims, the signature may be false."""
        claimed = wire.claimed_fields(body)
        nonce = headers.get(wire.H_NONCE, "")
        # An unverified nonce is kept in the reason, for the record, but never in the nonce column:
        # a restart reloads that column, and only the hub may fill it.
        reason = f"{code}: {message}" if authenticated else f"{code}: {message} (claimed nonce {nonce[:64]!r})"
        items = claimed.get("items")

        def text(key: str, limit: int) -> str:
            value = claimed.get(key)
            return str(value)[:limit] if isinstance(value, str) and value else "-"

        row = {
            "at": datetime.now(UTC), "request_id": text("request_id", 40),
            "requester": (headers.get(wire.H_HUB) or "(不明 / unknown)")[:200],
            "role": text("role", 40), "purpose": text("purpose", 40), "kind": kind,
            "items": json.dumps([str(i) for i in items] if isinstance(items, list) else [], ensure_ascii=False),
            "subjects": 0, "outcome": outcome, "reason": reason, "answer_digest": "",
            "nonce": nonce if authenticated and signing.NONCE_RE.match(nonce) else None,
        }
        try:
            with self.node.vault.transaction() as conn:
                conn.execute(insert(schema.request_log).values(**row))
        except Exception:
            # The refusal still goes out; a node that cannot write its log must not turn into an open door.
            log.exception("node %s could not log a refused message", self.department)

    # -- replies ----------------------------------------------------------------------------------
    def response(self, reply: Reply) -> Response:
        message = signing.response_message(self.department, reply.nonce, reply.status, signing.body_sha256(reply.body))
        headers = {wire.H_NODE: self.department, wire.H_SIGNATURE: signing.sign(self.node_key, message)}
        return Response(reply.body, status_code=reply.status, media_type=wire.JSON_TYPE, headers=headers)


async def _read_body(request: Request) -> bytes | None:
    """The body, or None once it passes the limit (a node answers small, purpose-stated requests)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(node: LocalNode, *, node_key: Ed25519PrivateKey, hub_keys: Mapping[str, Ed25519PublicKey],
               window_s: float = DEFAULT_WINDOW_S, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The HTTP service of ``node``: POST /identifiers, /items, /records, /records/{local_id}, /unreadable."""
    service = NodeService(node, node_key=node_key, hub_keys=hub_keys, window_s=window_s, clock=clock)
    # No interactive docs: a node describes itself to nobody who has not been given its address and key.
    app = FastAPI(title=f"tsunagu node {node.department}", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service

    async def dispatch(request: Request, kind: RequestKind, local_id: str | None = None) -> Response:
        body = await _read_body(request)
        nonce = request.headers.get(wire.H_NONCE, "")
        if body is None:
            return service.response(Reply(413, wire.error_body("too_large", "要求が大きすぎます / request too large"), nonce))
        reply = await run_in_threadpool(service.handle, kind, body, request.headers, local_id)
        return service.response(reply)

    @app.post("/identifiers")
    async def identifiers(request: Request) -> Response:
        return await dispatch(request, "identifiers")

    @app.post("/items")
    async def items(request: Request) -> Response:
        return await dispatch(request, "items")

    @app.post("/unreadable")
    async def unreadable(request: Request) -> Response:
        return await dispatch(request, "unreadable")

    @app.post("/records")
    async def records(request: Request) -> Response:
        return await dispatch(request, "records")

    # ":path" because a source's own ids may contain "/" (case numbers such as R8/0003).
    @app.post("/records/{local_id:path}")
    async def record(request: Request, local_id: str) -> Response:
        return await dispatch(request, "record", local_id)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Even a wrong path gets a signed answer, so the hub can tell this node from a stranger.
        nonce = request.headers.get(wire.H_NONCE, "")
        code = "not_found" if exc.status_code == 404 else "http_error"
        return service.response(Reply(exc.status_code, wire.error_body(code, str(exc.detail)), nonce))

    return app
