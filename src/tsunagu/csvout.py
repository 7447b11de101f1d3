"""CSV written by tsunagu: every cell that a spreadsheet would run as a formula is escaped."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> str:
    """Neutralise CSV injection (OWASP): prefix a quote to cells that start like a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_rows(handle: IO[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow([escape_cell(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow([escape_cell(v) for v in row])
        count += 1
    return count
