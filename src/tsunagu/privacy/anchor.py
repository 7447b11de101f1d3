"""The audit chain's anchor outside the hub: every signed checkpoint, also in an append-only file.

Whoever holds the hub's database file can drop the append-only triggers, delete the checkpoints
and recompute every hash: the chain inside the database then verifies, and an automatic
checkpoint would even sign the forgery. The anchor file keeps each signed checkpoint
(``upto_seq``, ``head_hash``, time, signature, key) outside the database — by default
``home/keys/anchors/audit_checkpoints.jsonl``, 0600 in a 0700 folder, opened with ``O_APPEND``
only — so ``verify`` can compare the database with heads it signed earlier, and ``checkpoint``
signs nothing that does not continue from the last anchored head. Copy the file off the machine
(or keep ``home/keys`` on storage the database's administrator cannot write) to make it an
anchor against someone who holds both.

A line is written after the checkpoint's transaction commits (``after_commit``): a checkpoint
that was rolled back must not be anchored, and a crash between commit and write leaves the
anchor one checkpoint behind — weaker for a moment, never a false alarm.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import event
from sqlalchemy.orm import Session

from tsunagu.errors import IntegrityError
from tsunagu.privacy.keyfiles import private_dir

ANCHOR_PATH = Path("keys") / "anchors" / "audit_checkpoints.jsonl"
_PENDING = "tsunagu_anchor_pending"
_LISTENING = "tsunagu_anchor_listening"
# Public key (hex) → the anchor file of the home whose key it is; filled when a home's key is loaded.
_anchors_by_key: dict[str, Path] = {}


@dataclass(frozen=True)
class Anchor:
    line: int
    upto_seq: int
    head_hash: str
    at: str
    signature: str
    public_key: str


class AnchorError(IntegrityError, ValueError):
    """The anchor file cannot be read as anchors (a line that is no anchor)."""

    code = "anchor_unreadable"


def register(public_key_hex: str, path: Path) -> None:
    _anchors_by_key[public_key_hex] = path


def path_for(public_key_hex: str) -> Path | None:
    return _anchors_by_key.get(public_key_hex)


def read(path: Path) -> list[Anchor]:
    """Every anchor in the file, in the order written; [] if the file does not exist."""
    if not path.exists():
        return []
    anchors = []
    for number, text in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            anchors.append(Anchor(number, int(data["upto_seq"]), str(data["head_hash"]), str(data["at"]),
                                  str(data["signature"]), str(data["public_key"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorError(f"{path}:{number}: アンカーとして読めない行です / not an anchor line ({exc})") from exc
    return anchors


def signature_valid(anchor: Anchor, public_key: Ed25519PublicKey, message: bytes) -> bool:
    try:
        public_key.verify(bytes.fromhex(anchor.signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def write_line(path: Path, payload: dict[str, object]) -> None:
    """Append one anchor line: O_APPEND (never rewrites what is there), 0600, flushed to disk."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(payload, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def after_commit(session: Session, path: Path, payload: dict[str, object]) -> None:
    """Append ``payload`` to ``path`` once ``session``'s transaction commits; forget it on rollback."""
    session.info.setdefault(_PENDING, []).append((path, payload))
    if session.info.get(_LISTENING):
        return
    session.info[_LISTENING] = True
    event.listen(session, "after_commit", _flush)
    event.listen(session, "after_rollback", _drop)


def _flush(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for path, payload in pending:
        write_line(path, payload)


def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)
