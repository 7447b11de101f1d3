"""Large frames in bounded memory: digests written slice by slice.

A whole-municipality answer or screening input is millions of rows; its CSV text as one string
(and that string encoded once more) cost more memory than the frame itself. The digest is the
same when the text is written and hashed a slice at a time: polars writes each row on its own, so
the slices' texts, the first with the header, join to the whole frame's text (a test holds them
equal).
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import polars as pl

# Rows per slice: about 10-20 MB of CSV text for the widest frames hashed this way.
DIGEST_SLICE_ROWS = 200_000


def hash_csv(hasher: Any, frame: pl.DataFrame, slice_rows: int = DIGEST_SLICE_ROWS) -> None:
    """Feed ``frame.write_csv()``'s bytes to ``hasher`` (a hashlib object), a slice at a time."""
    if frame.height == 0:
        hasher.update(frame.write_csv().encode("utf-8"))
        return
    for start in range(0, frame.height, slice_rows):
        hasher.update(_csv_bytes(frame.slice(start, slice_rows), include_header=start == 0))


def _csv_bytes(frame: pl.DataFrame, *, include_header: bool) -> bytes:
    """``frame.write_csv(...).encode()``: polars writes UTF-8 bytes, which ``write_csv()`` without a
    file decodes into a Python string — only to be encoded again for the hash."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=include_header)
    return buffer.getvalue()


def csv_sha256(frame: pl.DataFrame, slice_rows: int = DIGEST_SLICE_ROWS) -> str:
    """SHA-256 of the frame's CSV text, as ``hashlib.sha256(frame.write_csv().encode())`` gives it."""
    hasher = hashlib.sha256()
    hash_csv(hasher, frame, slice_rows)
    return hasher.hexdigest()


def _full_order(frame: pl.DataFrame, by: list[str]) -> list[str]:
    """``by``, then every other column: rows that tie on ``by`` but differ elsewhere are ordered by
    their content, not by where they arrived, so the same rows read in another order (another
    machine's thread count, another node's read plan) give the same digest. Polars' sort is not
    stable; at 100k, 11 keys tied between rows that differed."""
    return by + [name for name in frame.columns if name not in by]


def hash_csv_sorted(hasher: Any, frame: pl.DataFrame, by: list[str], slice_rows: int = DIGEST_SLICE_ROWS) -> None:
    """``hash_csv(hasher, frame.sort(by))`` without the sorted copy of the frame: the sort's row
    order is taken once (4 bytes a row) and the rows are gathered in it a slice at a time. A
    screening run's observations, millions of rows in a large city, were copied whole to be hashed."""
    if frame.height == 0:
        hash_csv(hasher, frame)
        return
    order = frame.select(pl.arg_sort_by(_full_order(frame, by)).alias("row"))["row"]
    for start in range(0, frame.height, slice_rows):
        rows = order.slice(start, slice_rows)
        hasher.update(_csv_bytes(frame.select(pl.all().gather(rows)), include_header=start == 0))
