"""DuckDB's spill folders for a linkage run: named for the process, cleared when it is gone.

A run removes its own folder when it ends, normally or by an exception (probabilistic._connection).
A run the kernel kills for memory cannot: its folder (up to 14.6 GB at 500,000 children) stayed in
the temporary folder, and a few of them once filled the disk. Each folder's name therefore carries
the process id and a tag of the machine, and a new run removes the folders of runs on this machine
whose process no longer exists. A folder whose process still exists, or may (another machine's, a
process we may not signal, a name we cannot read), is left alone: never a live run's spill.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

PREFIX = "tsunagu-link-"
# tsunagu-link-<pid>-<host tag>-<mkdtemp's random suffix>. Folders of the older naming
# (tsunagu-link-<random>, no process id) do not match and are never removed.
_NAME = re.compile(rf"^{re.escape(PREFIX)}(?P<pid>[0-9]+)-(?P<host>[0-9a-f]{{8}})-[^/]+$")


def host_tag() -> str:
    """Eight hex digits of this machine's name: a temporary folder shared with another machine (or
    a container with its own process ids) holds folders whose process ids mean nothing here."""
    return hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def process_exists(pid: int) -> bool:
    """Whether ``pid`` is a process on this machine. Signal 0 checks without sending anything; a
    process we may not signal exists all the same (EPERM)."""
    if pid <= 0:
        return True  # 0 and negatives address process groups: not an owner we can judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # PermissionError and anything unexpected: assume it lives
    return True


def owner(folder: Path, host: str | None = None) -> int | None:
    """The process id in a spill folder's name, if it is a folder of this naming and this machine."""
    found = _NAME.match(folder.name)
    if found is None or found["host"] != (host or host_tag()):
        return None
    return int(found["pid"])


def clear_stale(root: Path | None = None, exists: Callable[[int], bool] = process_exists) -> list[Path]:
    """Remove the spill folders under ``root`` (the temporary folder) of runs whose process is
    gone; the folders removed. This process's own folders and any whose owner exists are kept."""
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    host, me = host_tag(), os.getpid()
    removed: list[Path] = []
    try:
        candidates = sorted(base.glob(f"{PREFIX}*"))
    except OSError:
        return removed
    for folder in candidates:
        pid = owner(folder, host)
        if pid is None or pid == me or not folder.is_dir() or folder.is_symlink() or exists(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def new_folder(root: Path | None = None) -> Path:
    """A fresh spill folder for this process, after clearing the folders of runs that are gone."""
    clear_stale(root)
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-{host_tag()}-", dir=root))
