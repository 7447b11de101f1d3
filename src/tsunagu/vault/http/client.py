"""``HttpNode``: a department's node reached over HTTP, with the same contract as ``LocalNode``.

Each attempt is a freshly signed message (new nonce and timestamp), so a retry after a lost
answer is never mistaken for a replay. Connection failures and 5xx answers are retried with
exponential back-off; a 4xx is the node's decision and is never retried. Whatever happens, the
``on_exchange`` hook sees one record per call, so the hub keeps its side of the evidence.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Literal, NoReturn
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tsunagu.vault.errors import NodeAuthenticationError, NodeTransportError, NodeUnavailableError
from tsunagu.vault.http import signing, wire
from tsunagu.vault.node import NodeAnswer, NodeRefusedError, NodeRequest, RequestKind, frame_digest

if TYPE_CHECKING:
    # httpx (with what it imports) is imported when a remote node is first opened: a home whose
    # nodes are all local (one process, SQLite) never needs it.
    import httpx

Outcome = Literal["released", "partial", "refused", "unavailable", "error"]
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class ExchangeRecord:
    """The hub's side of one exchange with a node (what the hub's audit log records)."""

    request_id: str
    department: str
    kind: RequestKind
    requester: str
    role: str
    purpose: str
    items: tuple[str, ...]
    outcome: Outcome
    reason: str
    digest: str
    rows: int
    status: int | None
    attempts: int
    # The nonce of the last attempt: the ``nonce`` column of the node's log row for this exchange holds the same.
    nonce: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 3.0
    read_s: float = 30.0


def signed_headers(department: str, hub_id: str, key: Ed25519PrivateKey, body: bytes, *,
                   now: datetime | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers that make ``body`` a signed request to ``department``'s node."""
    stamp = signing.utc_timestamp(now)
    nonce = nonce or signing.new_nonce()
    digest = signing.body_sha256(body)
    signature = signing.sign(key, signing.request_message(department, hub_id, stamp, nonce, digest))
    return {
        "Content-Type": wire.JSON_TYPE, wire.H_HUB: hub_id, wire.H_TIMESTAMP: stamp, wire.H_NONCE: nonce,
        wire.H_DIGEST: digest, wire.H_SIGNATURE: signature,
    }


def _released_reason(refused: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in refused.items()) if refused else "提供 / released"


@dataclass
class _Call:
    kind: RequestKind
    request: NodeRequest
    attempts: int = 0
    nonce: str = ""
    status: int | None = None


class HttpNode:
    """A department's node service, reached over HTTP(S) with signed requests."""

    def __init__(self, department: str, base_url: str, hub_key: Ed25519PrivateKey, node_public_key: Ed25519PublicKey,
                 *, hub_id: str = signing.DEFAULT_HUB_ID, timeout: Timeouts | float = Timeouts(), retries: int = 2,
                 backoff: float = 0.5, on_exchange: Callable[[ExchangeRecord], None] | None = None,
                 verify: ssl.SSLContext | bool = True, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff must not be negative")
        self.department = department
        self.base_url = base_url.rstrip("/")
        self.hub_id = hub_id
        self.hub_key = hub_key
        self.node_public_key = node_public_key
        self.timeouts = timeout if isinstance(timeout, Timeouts) else Timeouts(timeout, timeout)
        self.retries = retries
        self.backoff = backoff
        self.on_exchange = on_exchange
        self._sleep = sleep
        import httpx

        limits = httpx.Timeout(connect=self.timeouts.connect_s, read=self.timeouts.read_s,
                               write=self.timeouts.read_s, pool=self.timeouts.connect_s)
        # trust_env=False: node traffic goes straight to the configured address, never via an
        # environment proxy the operator did not put in the topology.
        self._client = httpx.Client(base_url=self.base_url, timeout=limits, verify=verify, transport=transport,
                                    follow_redirects=False, trust_env=False)

    def __repr__(self) -> str:
        return f"HttpNode({self.department!r}, {self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpNode:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the Node contract ------------------------------------------------------------------------
    def identifiers(self, request: NodeRequest, as_of: date | None = None, *,
                    local_ids: Sequence[tuple[str, str]] | None = None) -> NodeAnswer:
        return self._exchange(_Call("identifiers", request), wire.ENDPOINTS["identifiers"], as_of, local_ids=local_ids)

    def items(self, request: NodeRequest, as_of: date) -> NodeAnswer:
        return self._exchange(_Call("items", request), wire.ENDPOINTS["items"], as_of)

    def record(self, request: NodeRequest, source: str, local_id: str, as_of: date | None = None) -> NodeAnswer:
        path = f"{wire.ENDPOINTS['record']}/{quote(local_id, safe='')}"
        return self._exchange(_Call("record", request), path, as_of, source, local_id)

    def records(self, request: NodeRequest, source: str, local_ids: Sequence[str],
                as_of: date | None = None) -> NodeAnswer:
        pairs = [(source, local_id) for local_id in local_ids]
        return self._exchange(_Call("records", request), wire.ENDPOINTS["records"], as_of, source, local_ids=pairs)

    def unreadable(self, request: NodeRequest, as_of: date) -> NodeAnswer:
        return self._exchange(_Call("unreadable", request), wire.ENDPOINTS["unreadable"], as_of)

    # -- one exchange -----------------------------------------------------------------------------
    def _exchange(self, call: _Call, path: str, as_of: date | None, source: str | None = None,
                  local_id: str | None = None, *, local_ids: Sequence[tuple[str, str]] | None = None) -> NodeAnswer:
        import httpx  # imported by __init__ already: a look-up in sys.modules

        body = wire.request_body(self.department, call.kind, call.request, as_of, source, local_id, local_ids)
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF_S))
            call.attempts += 1
            call.nonce = signing.new_nonce()
            headers = signed_headers(self.department, self.hub_id, self.hub_key, body, nonce=call.nonce)
            try:
                response = self._client.post(path, content=body, headers=headers)
            except httpx.TransportError as exc:
                call.status = None
                reason = f"ノードに接続できません / node unreachable: {type(exc).__name__}: {exc}".rstrip(": ")
                continue
            except httpx.RequestError as exc:
                self._unavailable(call, f"応答を読めません / unreadable answer: {type(exc).__name__}: {exc}")
            call.status = response.status_code
            if response.status_code >= 500:
                reason = f"ノードのエラー / node error: HTTP {response.status_code}{self._server_message(response, call)}"
                continue
            return self._settle(call, response)
        self._unavailable(call, f"{reason}（{call.attempts}回試行 / after {call.attempts} attempts）")

    def _signed(self, response: httpx.Response, call: _Call) -> bool:
        signature = response.headers.get(wire.H_SIGNATURE, "")
        message = signing.response_message(self.department, call.nonce, response.status_code,
                                           signing.body_sha256(response.content))
        return bool(signature) and signing.verify(self.node_public_key, signature, message)

    def _server_message(self, response: httpx.Response, call: _Call) -> str:
        if not self._signed(response, call):
            return ""
        try:
            code, message = wire.parse_error(response.content)
        except wire.WireError:
            return ""
        return f" {code}: {message}"

    def _settle(self, call: _Call, response: httpx.Response) -> NodeAnswer:
        status = response.status_code
        if not self._signed(response, call):
            self._unavailable(call, f"応答の署名を検証できません / response signature does not verify (HTTP {status})")
        if status == 200:
            return self._accept(call, response.content)
        if 400 <= status < 500:
            try:
                code, message = wire.parse_error(response.content)
            except wire.WireError as exc:
                self._unavailable(call, f"拒否応答の形式が不正です / malformed refusal: {exc}")
            if status == 401:
                self._emit(call, "refused", f"{code}: {message}")
                raise NodeAuthenticationError(self.department, code, message)
            if status == 403:
                self._emit(call, "refused", message)
                raise NodeRefusedError(self.department, message)
            self._emit(call, "error", f"{code}: {message}")
            raise NodeTransportError(self.department, f"HTTP {status} {code}: {message}")
        self._unavailable(call, f"想定外の応答です / unexpected answer: HTTP {status}")

    def _accept(self, call: _Call, body: bytes) -> NodeAnswer:
        try:
            answer = wire.parse_answer(body)
        except wire.WireError as exc:
            self._unavailable(call, f"応答を読めません / unreadable answer: {exc}")
        if answer.department != self.department or answer.request_id != call.request.request_id:
            self._unavailable(call, "別の要求への応答です / answer belongs to another request")
        if frame_digest(answer.data) != answer.digest:
            self._unavailable(call, "応答のダイジェストが一致しません / answer digest mismatch")
        outcome: Outcome = "partial" if answer.refused else "released"
        self._emit(call, outcome, _released_reason(answer.refused), answer.digest, answer.data.height)
        return answer

    # -- the hub's side of the log ----------------------------------------------------------------
    def _emit(self, call: _Call, outcome: Outcome, reason: str, digest: str = "", rows: int = 0) -> None:
        # An exception from the hook propagates on purpose: a read the hub cannot audit must not be used.
        if self.on_exchange is None:
            return
        request = call.request
        self.on_exchange(ExchangeRecord(
            request_id=request.request_id, department=self.department, kind=call.kind, requester=request.requester,
            role=request.role, purpose=request.purpose, items=tuple(request.items), outcome=outcome, reason=reason,
            digest=digest, rows=rows, status=call.status, attempts=call.attempts, nonce=call.nonce,
        ))

    def _unavailable(self, call: _Call, reason: str) -> NoReturn:
        self._emit(call, "unavailable", reason)
        raise NodeUnavailableError(self.department, reason)
