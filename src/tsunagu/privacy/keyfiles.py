"""Secret files in the home: created once, atomically, readable by the owner only (0600)."""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from pathlib import Path

from tsunagu.errors import KeyFileError

__all__ = ["KeyFileError", "create_secret", "load_or_create_search_secret", "private_dir", "read_secret"]


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700 if it does not exist."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
    return path


def create_secret(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` with mode 0600 unless it exists; False if it already did.

    Written to a private temporary file first and then hard-linked into place, so two processes
    starting at once never see a half-written key and never overwrite each other's.
    """
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def read_secret(path: Path) -> bytes:
    """Read a key file, refusing one that others may read (a leaked key is worse than none)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"鍵ファイルがありません: {path} / key file not found") from exc
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"鍵ファイル {path} が所有者以外にも読める設定です（{stat.filemode(mode)}）。"
            f"`chmod 600 {path}` を実行してください / key file must be mode 0600"
        )
    return path.read_bytes()


SEARCH_KEY_PATH = Path("keys") / "search.key"


def load_or_create_search_secret(home: Path) -> bytes:
    """The key of the hashed search terms (``link.searchkeys``), ``home/keys/search.key`` (0600),
    created on first use. Kept in the home beside the other keys, never in the hub store: the
    store's hashed terms tell nothing without it."""
    path = home / SEARCH_KEY_PATH
    if not path.exists():
        create_secret(path, os.urandom(32))
    secret = read_secret(path)
    if len(secret) != 32:
        raise KeyFileError(f"検索キーの鍵の長さが正しくありません: {path} / search key must be 32 bytes")
    return secret
