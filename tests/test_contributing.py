"""docs/contributing.md names exact files: each must exist (a renamed file makes this fail)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "contributing.md"


def _named_paths() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    names = re.findall(r"`((?:src|tests|rules|docs)/[^`<>]+|pyproject\.toml)`", text)
    return sorted(set(names))


def test_every_file_the_guide_names_exists() -> None:
    names = _named_paths()
    assert len(names) > 25  # the guide names the files, not only folders
    missing = [name for name in names if not (ROOT / name).exists()]
    assert missing == []


def test_the_guide_covers_the_four_changes() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for heading in ("## A data item from a new department", "## A screening rule",
                    "## A web page with its permission", "## A storage back-end"):
        assert heading in text
