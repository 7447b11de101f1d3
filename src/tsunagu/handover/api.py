"""The receiving API another municipality's tsunagu calls: ``POST /v1/packages``, ``POST /v1/receipts``.

Authenticated by the sending municipality's signature (``transport.authenticate``), never by a
staff session; mounted in the staff web app under ``/municipal``. Every answer is signed, every
refusal recorded (handover event and audit entry) before it is answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tsunagu.handover import envelope, inbox, outbox, transport
from tsunagu.handover.keys import Identity
from tsunagu.handover.records import record
from tsunagu.vault.node import Node
from tsunagu.work.unit import unit_of_work

MOUNT = "/municipal"
STATUS = {"wrong_recipient": 403, "bad_signature": 403, "undecryptable": 403, "header_mismatch": 403,
          "unknown_sender": 401, "sender_mismatch": 403, "duplicate": 409, "malformed": 400, "too_large": 413}


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode("utf-8")


class Receiver:
    def __init__(self, identity: Callable[[], Identity], factory: sessionmaker[Session],
                 nodes: Callable[[], Mapping[str, Node]], key: Ed25519PrivateKey | None,
                 clock: Callable[[], datetime] | None, window_s: float) -> None:
        self.identity, self.factory, self.nodes, self.key = identity, factory, nodes, key
        self.clock = clock or (lambda: datetime.now(UTC))
        self.window_s = window_s

    def handle(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        identity, now = self.identity(), self.clock()
        with unit_of_work(self.factory) as session:
            try:
                peer = transport.authenticate(session, path, identity.code, body, headers, now, self.window_s)
            except transport.Refusal as refusal:
                record(session, "refused" if path == "packages" else "receipt_refused",
                       f"{refusal.code}: {refusal.message}（HTTP、送付元の申告 {refusal.claimed or '不明'}）",
                       outcome="refused", peer_code=refusal.claimed or None, audit_action=f"handover.{path}.http",
                       key=self.key, now=now)
                return refusal.status, _error(refusal.code, refusal.message)
            if path == "packages":
                received = inbox.receive(session, body, identity=identity, nodes=self.nodes(), via="http", key=self.key,
                                         now=now, transport_sender=peer.code)
                if received.refusal is not None:
                    exc = received.refusal
                    return STATUS.get(exc.code, 400), _error(exc.code, exc.message)
                assert received.receipt is not None
                return 200, received.receipt
            try:
                outbox.take_receipt(session, body, identity=identity, via="http", key=self.key, now=now,
                                    transport_sender=peer.code)
            except envelope.EnvelopeError as exc:
                return STATUS.get(exc.code, 400), _error(exc.code, exc.message)
            return 200, b'{"ok":true}'


def create_api(identity: Callable[[], Identity], factory: sessionmaker[Session],
               nodes: Callable[[], Mapping[str, Node]], *, key: Ed25519PrivateKey | None = None,
               clock: Callable[[], datetime] | None = None, window_s: float = transport.WINDOW_S) -> FastAPI:
    receiver = Receiver(identity, factory, nodes, key, clock, window_s)
    app = FastAPI(title="tsunagu handover", docs_url=None, redoc_url=None, openapi_url=None)

    def signed(status: int, body: bytes, nonce: str) -> Response:
        headers = transport.sign_response(receiver.identity(), nonce, status, body)
        return Response(body, status_code=status, media_type="application/json", headers=headers)

    async def dispatch(request: Request, path: str) -> Response:
        nonce = request.headers.get(transport.H_NONCE, "")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > envelope.MAX_ENVELOPE_BYTES:
            return signed(413, _error("too_large", "大きすぎます / too large"), nonce)
        body = await request.body()
        status, answer = await run_in_threadpool(receiver.handle, path, body, request.headers)
        return signed(status, answer, nonce)

    @app.post("/v1/packages")
    async def packages(request: Request) -> Response:
        return await dispatch(request, "packages")

    @app.post("/v1/receipts")
    async def receipts(request: Request) -> Response:
        return await dispatch(request, "receipts")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return signed(exc.status_code, _error("not_found" if exc.status_code == 404 else "http_error", str(exc.detail)),
                      request.headers.get(transport.H_NONCE, ""))

    return app
