"""Personal-data files on disk: the hub's and the vaults' SQLite files, readable by their owner only.

A SQLite file made with the default umask is 0644 in a 0755 folder: every local account on the
server could copy every child's data. The files are therefore created 0600 (SQLite gives its -wal
and -shm files the main file's mode) in folders created 0700, and ``loose_files`` lets a server
refuse to start over a file that others may read.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

SQLITE_PREFIX = "sqlite:///"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith(SQLITE_PREFIX):
        return None
    path = url.removeprefix(SQLITE_PREFIX).split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def private_folder(path: Path) -> None:
    """Create ``path`` (and missing parents) 0700; an existing folder is left as it is."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        folder.chmod(0o700)


def prepare_sqlite(url: str) -> None:
    """Before SQLite opens a file: its folder 0700 if new, the file itself created empty 0600 if new."""
    path = sqlite_path(url)
    if path is None:
        return
    private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _open_to_others(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def loose_files(home: Path, hub_url: str) -> tuple[list[Path], list[Path]]:
    """(files, folders) of personal data that others than the owner may read or enter."""
    hub = sqlite_path(hub_url)
    files = [p for p in ([hub] if hub is not None else []) + sorted((home / "vaults").glob("*.sqlite3*"))
             if p.exists()]
    folders = sorted({p.parent for p in files})
    return [p for p in files if _open_to_others(p)], [f for f in folders if _open_to_others(f)]


def loose_files_message(files: list[Path], folders: list[Path]) -> str:
    lines = ["子どもの個人データを含むファイルが、所有者以外にも読める設定です / personal-data files readable by others:"]
    lines += [f"  {p}（{stat.filemode(p.stat().st_mode)}）" for p in [*files, *folders]]
    fix = " ; ".join(x for x in (f"chmod 600 {' '.join(str(p) for p in files)}" if files else "",
                                  f"chmod 700 {' '.join(str(f) for f in folders)}" if folders else "") if x)
    lines.append(f"直すには: {fix}")
    return "\n".join(lines)
