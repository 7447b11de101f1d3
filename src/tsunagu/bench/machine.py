"""The machine and the code a benchmark ran on: figures mean little without them."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip().strip(chr(34))} (Linux {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def describe_machine() -> dict[str, object]:
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "ram_gb": _ram_gb(), "os": _os_name(),
            "python": platform.python_version()}


def memory_limit_mb(share: float = 0.85) -> int | None:
    """The default per-stage memory ceiling: a share of physical memory, leaving room for the rest."""
    ram = _ram_gb()
    return int(ram * 1024 * share) if ram else None


def describe_code(root: Path) -> dict[str, object]:
    """The commit, and which tracked source files had uncommitted changes (others work in the tree)."""
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return ""
        # Only trailing whitespace: porcelain lines start with a meaningful space (" M path").
        return done.stdout.rstrip() if done.returncode == 0 else ""

    changed = [line[3:] for line in git("status", "--porcelain", "--", "src").splitlines() if line]
    return {"commit": git("rev-parse", "--short=12", "HEAD").strip() or None, "uncommitted_src": changed}
