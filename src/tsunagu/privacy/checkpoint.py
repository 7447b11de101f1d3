"""Signed checkpoints of the audit chain (Ed25519) and the hub's signing key.

The hash chain alone proves nothing against someone who rewrites every hash after the entry
they changed; a checkpoint signed with a key that never leaves the home does. Before signing, the
stretch of chain since the previous checkpoint is re-checked, so a checkpoint never blesses
tampering that happened after the last one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.errors import IntegrityError
from tsunagu.privacy import anchor as anchors
from tsunagu.privacy.chain import (
    GENESIS_HASH,
    ChainProblem,
    canonical_json,
    chain_head,
    entry_rows,
    first_seq,
    format_at,
    lock_chain,
    walk,
)
from tsunagu.privacy.keyfiles import KeyFileError, create_secret, read_secret
from tsunagu.privacy.models import AuditCheckpoint, AuditEntry

SIGNING_KEY_PATH = Path("keys") / "hub_ed25519.pem"


class ChainBrokenError(IntegrityError, RuntimeError):
    """The chain has a problem, so no checkpoint may be signed over it."""

    code = "chain_broken"

    def __init__(self, problem: ChainProblem) -> None:
        self.problem = problem
        super().__init__(f"アクセス記録の連鎖に問題があるため署名しません: {problem.message} / audit chain broken")


def load_or_create_signing_key(home: Path) -> Ed25519PrivateKey:
    """The hub's checkpoint signing key, ``home/keys/hub_ed25519.pem`` (0600), created on first use."""
    path = home / SIGNING_KEY_PATH
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        create_secret(path, pem)
    key = serialization.load_pem_private_key(read_secret(path), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} は Ed25519 の秘密鍵ではありません / not an Ed25519 private key")
    # Checkpoints signed with the home's key are anchored in the home's anchor file (privacy.anchor).
    anchors.register(public_key_hex(key), home / anchors.ANCHOR_PATH)
    return key


def public_key_hex(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def parse_public_key(value: str) -> Ed25519PublicKey:
    """A public key from its 64 hex digits (as printed by ``tsunagu keys list``)."""
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(value.strip()))
    except ValueError as exc:
        raise ValueError(f"公開鍵は64桁の16進数で指定してください: {value!r} / invalid Ed25519 public key") from exc


def checkpoint_message(upto_seq: int, head_hash: str, at: datetime | str) -> bytes:
    return canonical_json({"kind": "tsunagu-audit-checkpoint", "upto_seq": upto_seq, "head_hash": head_hash,
                           "at": at if isinstance(at, str) else format_at(at)})


def signature_valid(cp: AuditCheckpoint, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(bytes.fromhex(cp.signature), checkpoint_message(cp.upto_seq, cp.head_hash, cp.at))
    except (InvalidSignature, ValueError):
        return False
    return True


def last_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.upto_seq.desc(), AuditCheckpoint.id.desc()).limit(1)
    ).first()


def unsigned_segment_problem(session: Session) -> ChainProblem | None:
    """The first problem in the entries after the last checkpoint (all entries if there is none)."""
    last = last_checkpoint(session)
    if last is not None:
        start_seq, start_prev = last.upto_seq + 1, last.head_hash
    else:
        start_seq, start_prev = 1, GENESIS_HASH
        lowest = first_seq(session)
        if lowest is not None and lowest > 1:
            return ChainProblem("deleted", 1, f"seq 1〜{lowest - 1} のアクセス記録がありません（チェックポイントなし）")
    return walk(entry_rows(session, start_seq - 1), start_seq=start_seq, start_prev=start_prev).problem


def anchored_segment_problem(session: Session, last: anchors.Anchor) -> ChainProblem | None:
    """The first problem between the last anchored head (outside the database) and the chain's head:
    the anchored entry must still carry the anchored hash, and every entry after it must follow."""
    where = f"外部アンカー（{last.line}行目、seq {last.upto_seq} まで）"
    if last.upto_seq > 0:
        entry = session.get(AuditEntry, last.upto_seq)
        if entry is None:
            kept = session.scalars(select(AuditCheckpoint.id).where(
                AuditCheckpoint.upto_seq == last.upto_seq, AuditCheckpoint.head_hash == last.head_hash).limit(1)).first()
            lowest = first_seq(session)
            if kept is None or (lowest is not None and lowest <= last.upto_seq):
                return ChainProblem("anchor", last.upto_seq, f"{where} の記録がデータベースにありません（削除または書き換え）")
        elif entry.entry_hash != last.head_hash:
            return ChainProblem("anchor", last.upto_seq,
                                f"{where} のハッシュがデータベースの記録と一致しません（seq {last.upto_seq} までが書き換えられています）")
    return walk(entry_rows(session, last.upto_seq), start_seq=last.upto_seq + 1, start_prev=last.head_hash).problem


def checkpoint(session: Session, key: Ed25519PrivateKey, *, now: datetime | None = None) -> AuditCheckpoint:
    """Sign the current head of the chain, in the caller's transaction.

    Raises ChainBrokenError when the entries since the last checkpoint do not verify — since the
    last *anchored* checkpoint when the key has an anchor file, so a database rewritten together
    with its checkpoints is never signed over. The new checkpoint is anchored once committed.
    """
    lock_chain(session)
    path = anchors.path_for(public_key_hex(key))
    anchored = anchors.read(path) if path is not None else []
    problem = anchored_segment_problem(session, anchored[-1]) if anchored else unsigned_segment_problem(session)
    if problem is not None:
        raise ChainBrokenError(problem)
    upto_seq, head_hash = chain_head(session)
    at = (now or datetime.now(UTC)).astimezone(UTC)
    signature = key.sign(checkpoint_message(upto_seq, head_hash, at)).hex()
    row = AuditCheckpoint(at=at, upto_seq=upto_seq, head_hash=head_hash, signature=signature,
                          public_key=public_key_hex(key))
    session.add(row)
    session.flush()
    if path is not None:
        anchors.after_commit(session, path, {"upto_seq": upto_seq, "head_hash": head_hash, "at": format_at(at),
                                             "signature": signature, "public_key": row.public_key})
    return row
