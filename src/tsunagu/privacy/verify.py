"""Verifying the whole audit chain and its checkpoints: ``tsunagu audit verify``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import anchor as anchor_file
from tsunagu.privacy.chain import GENESIS_HASH, ChainProblem, first_seq, walk
from tsunagu.privacy.checkpoint import checkpoint_message, parse_public_key, public_key_hex, signature_valid
from tsunagu.privacy.models import AuditCheckpoint, AuditEntry


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    head_seq: int
    head_hash: str
    purged_upto: int  # entries 1..purged_upto were purged under a signed checkpoint (0: none)
    key_checked: bool  # checkpoints were checked against a key given by the caller, not their own
    problem: ChainProblem | None
    problems: tuple[ChainProblem, ...]
    anchors_checked: int = 0  # signed heads in the anchor file outside the database, compared
    anchor_missing: bool = False  # an anchor file was expected (the home's key) but there is none yet


def _signed(cp: AuditCheckpoint, public_key: Ed25519PublicKey | None) -> bool:
    try:
        key = public_key or parse_public_key(cp.public_key)
    except ValueError:
        return False
    return signature_valid(cp, key)


def _checkpoint_problem(
    cp: AuditCheckpoint, public_key: Ed25519PublicKey | None, hashes: dict[int, str], start_seq: int,
    anchor_hash: str | None, walked_to: int, walk_complete: bool,
) -> ChainProblem | None:
    where = f"チェックポイント #{cp.id}（seq {cp.upto_seq} まで）"
    if public_key is not None and cp.public_key != public_key_hex(public_key):
        return ChainProblem("checkpoint_key", cp.upto_seq, f"{where} はハブの鍵とは別の鍵で署名されています",
                            cp.id)
    if not _signed(cp, public_key):
        return ChainProblem("checkpoint_signature", cp.upto_seq, f"{where} の署名が正しくありません（偽造または改変）",
                            cp.id)
    if cp.upto_seq == 0:
        expected: str | None = GENESIS_HASH
    elif cp.upto_seq == start_seq - 1:
        expected = anchor_hash
    elif cp.upto_seq < start_seq - 1:
        return None  # purged under an earlier checkpoint: only the signature can be checked
    elif cp.upto_seq in hashes:
        expected = hashes[cp.upto_seq]
    elif walk_complete and cp.upto_seq > walked_to:
        return ChainProblem("deleted", walked_to + 1,
                            f"{where} があるのに seq {walked_to + 1} 以降のアクセス記録がありません（末尾の削除）",
                            cp.id)
    else:
        return None  # the walk stopped at an earlier problem and never reached this seq
    if cp.head_hash != expected:
        return ChainProblem("checkpoint_head", cp.upto_seq,
                            f"{where} の先頭ハッシュが記録と一致しません（seq {cp.upto_seq} までの記録が書き換えられています）",
                            cp.id)
    return None


def _anchor_problem(a: anchor_file.Anchor, public_key: Ed25519PublicKey | None, hashes: dict[int, str],
                   start_seq: int, checkpoints: list[AuditCheckpoint], walked_to: int, walk_complete: bool,
                   ) -> ChainProblem | None:
    where = f"外部アンカー（{a.line}行目、seq {a.upto_seq} まで）"
    if public_key is not None and a.public_key != public_key_hex(public_key):
        return ChainProblem("anchor", a.upto_seq, f"{where} はハブの鍵とは別の鍵で署名されています")
    try:
        key = public_key or parse_public_key(a.public_key)
    except ValueError:
        key = None
    if key is None or not anchor_file.signature_valid(a, key, checkpoint_message(a.upto_seq, a.head_hash, a.at)):
        return ChainProblem("anchor", a.upto_seq, f"{where} の署名が正しくありません")
    if a.upto_seq == 0:
        expected: str | None = GENESIS_HASH
    elif a.upto_seq in hashes:
        expected = hashes[a.upto_seq]
    elif a.upto_seq < start_seq:
        # purged: the anchored head must survive in a checkpoint kept at that place
        expected = next((c.head_hash for c in checkpoints if c.upto_seq == a.upto_seq and c.head_hash == a.head_hash),
                        None)
    elif walk_complete and a.upto_seq > walked_to:
        return ChainProblem("anchor", walked_to + 1,
                            f"{where} があるのに seq {walked_to + 1} 以降のアクセス記録がデータベースにありません（末尾の削除）")
    else:
        return None  # the walk stopped at an earlier problem and never reached this seq
    if expected != a.head_hash:
        return ChainProblem("anchor", a.upto_seq,
                            f"{where} のハッシュがデータベースの記録と一致しません（seq {a.upto_seq} までが書き換えられています）")
    return None


def verify(session: Session, public_key: Ed25519PublicKey | None = None, *,
           anchors: Path | None = None) -> VerifyReport:
    """Walk the chain and every checkpoint; report every checkpoint problem and the chain's first.

    ``public_key``: the hub's key (from the home or held elsewhere). Without it each checkpoint
    is checked against the key stored beside it, which proves integrity but not authorship.
    ``anchors``: the anchor file outside the database (privacy.anchor); by default the one of the
    home whose key ``public_key`` is. Every signed head in it must still be in the chain: a
    database rewritten with its checkpoints (triggers dropped, hashes recomputed) fails here.
    """
    if anchors is None and public_key is not None:
        anchors = anchor_file.path_for(public_key_hex(public_key))
    try:
        anchored = anchor_file.read(anchors) if anchors is not None else []
        unreadable = None
    except anchor_file.AnchorError as exc:
        anchored, unreadable = [], ChainProblem("anchor", 0, str(exc))
    checkpoints = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.upto_seq, AuditCheckpoint.id)))
    lowest = first_seq(session)
    start_seq = lowest if lowest is not None else max((c.upto_seq for c in checkpoints), default=0) + 1
    problems: list[ChainProblem] = []
    anchor_hash: str | None = GENESIS_HASH
    purged_upto = 0
    if start_seq > 1:
        purge_marks = [c for c in checkpoints if c.upto_seq == start_seq - 1 and _signed(c, public_key)]
        first_prev = session.scalar(select(AuditEntry.prev_hash).where(AuditEntry.seq == start_seq))
        anchor = next((c for c in purge_marks if first_prev is None or c.head_hash == first_prev), None)
        if anchor is None:
            anchor_hash = None
            problems.append(ChainProblem("deleted", 1, f"seq 1〜{start_seq - 1} のアクセス記録がありません"
                                                       "（署名済みチェックポイントでの保存期間満了削除ではありません）"))
        else:
            anchor_hash, purged_upto = anchor.head_hash, anchor.upto_seq
    result = None
    if anchor_hash is not None:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000))
        result = walk(rows, start_seq=start_seq, start_prev=anchor_hash,
                      keep=frozenset(c.upto_seq for c in checkpoints) | {a.upto_seq for a in anchored})
        if result.problem is not None:
            problems.append(result.problem)
    for cp in checkpoints:
        problem = _checkpoint_problem(
            cp, public_key, result.hashes if result else {}, start_seq, anchor_hash,
            result.last_seq if result else 0, result is not None and result.problem is None,
        )
        if problem is not None:
            problems.append(problem)
    for a in anchored:
        problem = _anchor_problem(a, public_key, result.hashes if result else {}, start_seq, checkpoints,
                                  result.last_seq if result else 0, result is not None and result.problem is None)
        if problem is not None:
            problems.append(problem)
    if unreadable is not None:
        problems.append(unreadable)
    problems.sort(key=lambda p: p.seq)
    head = session.execute(select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return VerifyReport(
        ok=not problems,
        entries_checked=result.count if result else 0,
        checkpoints_checked=len(checkpoints),
        head_seq=int(head[0]) if head else purged_upto,
        head_hash=str(head[1]) if head else (anchor_hash or GENESIS_HASH),
        purged_upto=purged_upto,
        key_checked=public_key is not None,
        problem=problems[0] if problems else None,
        problems=tuple(problems),
        anchors_checked=len(anchored),
        anchor_missing=anchors is not None and not anchored and bool(checkpoints),
    )
