"""What travels between hub and node: JSON envelopes, frames as Arrow IPC in base64.

One format for every message keeps a single parse path and makes a captured exchange readable
with ordinary tools; the signature travels in headers so the body bytes are exactly what was
signed. Frames are written at Arrow's oldest compatibility level so a node host and the hub may
run different polars versions and still read each other's answers.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

import polars as pl
from polars.exceptions import PanicException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tsunagu.errors import InputError
from tsunagu.vault.node import NodeAnswer, NodeRequest, RequestKind

WIRE_VERSION: Literal[1] = 1
JSON_TYPE = "application/json"

H_HUB = "X-Tsunagu-Hub"
H_TIMESTAMP = "X-Tsunagu-Timestamp"
H_NONCE = "X-Tsunagu-Nonce"
H_DIGEST = "X-Tsunagu-Content-SHA256"
H_SIGNATURE = "X-Tsunagu-Signature"
H_NODE = "X-Tsunagu-Node"

# A record is /records/{local_id}; many records of one source, /records with the local ids in the body.
ENDPOINTS: dict[RequestKind, str] = {"identifiers": "/identifiers", "items": "/items", "record": "/records",
                                     "records": "/records", "unreadable": "/unreadable"}


class WireError(InputError, ValueError):
    """A message that does not have the shape of the protocol."""

    code = "wire"
    status = 400


class WireRequest(BaseModel):
    """The signed body of a request: the ``NodeRequest`` plus what the call was about."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = WIRE_VERSION
    department: str
    kind: RequestKind
    request_id: str = Field(min_length=1, max_length=40)
    requester: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=40)
    purpose: str = Field(min_length=1, max_length=40)
    items: tuple[str, ...] = ()
    as_of: date | None = None
    source: str | None = None
    local_id: str | None = None
    # identifiers: the (source, local_id) pairs asked for, absent meaning every record; records: the
    # records asked for, every pair of the request's source.
    local_ids: tuple[tuple[str, str], ...] | None = None
    # identifiers only: the identity fields wanted; absent means every field.
    fields: tuple[str, ...] | None = None

    def node_request(self, nonce: str | None = None) -> NodeRequest:
        """The request as the node sees it; ``nonce`` is the verified nonce of the message that carried it."""
        return NodeRequest(self.requester, self.role, self.purpose, self.items, self.request_id, nonce, self.fields)


def request_body(department: str, kind: RequestKind, request: NodeRequest, as_of: date | None,
                 source: str | None = None, local_id: str | None = None,
                 local_ids: Sequence[tuple[str, str]] | None = None) -> bytes:
    wire = WireRequest(
        department=department, kind=kind, request_id=request.request_id, requester=request.requester,
        role=request.role, purpose=request.purpose, items=tuple(request.items), as_of=as_of, source=source,
        local_id=local_id, local_ids=None if local_ids is None else tuple((s, i) for s, i in local_ids),
        fields=request.fields if kind == "identifiers" else None,
    )
    # Without local_ids or fields the body is what it was before those fields existed.
    absent = {name for name, value in (("local_ids", local_ids), ("fields", wire.fields)) if value is None}
    return wire.model_dump_json(exclude=absent or None).encode("utf-8")


def parse_request(body: bytes) -> WireRequest:
    try:
        return WireRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WireError(f"要求の形式が不正です / malformed request: {where}: {first['msg']}") from exc


def claimed_fields(body: bytes) -> dict[str, Any]:
    """Whatever an unverified body claims, for the log of a refused message (never trusted)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


# -- frames ------------------------------------------------------------------------------------------
def encode_frame(frame: pl.DataFrame) -> str:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="zstd", compat_level=pl.CompatLevel.oldest())
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_frame(text: str) -> pl.DataFrame:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WireError(f"frame is not base64: {exc}") from exc
    try:
        return pl.read_ipc(raw)
    except (Exception, PanicException) as exc:
        # polars reports unreadable IPC as OSError, ComputeError or a Rust panic depending on where it breaks.
        raise WireError(f"frame is not Arrow IPC: {type(exc).__name__}") from exc


# -- answers and errors -------------------------------------------------------------------------------
def answer_body(answer: NodeAnswer, kind: RequestKind) -> bytes:
    payload = {
        "v": WIRE_VERSION, "department": answer.department, "request_id": answer.request_id, "kind": kind,
        "refused": answer.refused, "digest": answer.digest, "rows": answer.data.height,
        "frame": encode_frame(answer.data),
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


class _WireAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    department: str
    request_id: str
    kind: RequestKind
    refused: dict[str, str]
    digest: str
    rows: int = Field(ge=0)
    frame: str


def parse_answer(body: bytes) -> NodeAnswer:
    try:
        wire = _WireAnswer.model_validate_json(body)
    except ValidationError as exc:
        raise WireError(f"answer is not a node answer: {exc.errors()[0]['msg']}") from exc
    frame = decode_frame(wire.frame)
    if frame.height != wire.rows:
        raise WireError(f"answer says {wire.rows} rows, frame has {frame.height}")
    return NodeAnswer(wire.department, wire.request_id, frame, dict(wire.refused), wire.digest)


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode("utf-8")


def parse_error(body: bytes) -> tuple[str, str]:
    try:
        data = json.loads(body)
        error = data["error"]
        code, message = error["code"], error["message"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise WireError("error answer without {error: {code, message}}") from exc
    if not isinstance(code, str) or not isinstance(message, str):
        raise WireError("error code and message must be strings")
    return code, message
