"""A node answer's columns, typed the same however many rows came back.

Every answer column has one polars type, fixed by its name (``COLUMN_TYPES``; text otherwise),
whether any row came back or not; ``rows_frame`` builds the frame from the driver's tuples.

An Arrow path (ADBC's SQLite driver) was tried and removed (2026-12-07): the driver carries its own
copy of SQLite, and two copies of SQLite in one process release each other's POSIX locks when one
closes the file (sqlite.org/howtocorrupt.html §2.2.1) — a link lost the resident register to a
"database is locked" after a crash, and the same mechanism can let two writers into one vault.
"""

from __future__ import annotations

from datetime import date

import polars as pl

# Answers up to this many rows are written out by ``node._csv_text`` and have their dates parsed one
# distinct value at a time; larger ones by polars.
SMALL_ANSWER_ROWS = 2_000

COLUMN_TYPES: dict[str, pl.DataType] = {
    "record_id": pl.Int64(), "row_number": pl.Int64(), "value_num": pl.Float64(), "value_bool": pl.Boolean(),
    "observed_on": pl.Date(), "snapshot_date": pl.Date(), "valid_from": pl.Date(), "birth_date": pl.Date(),
}


def rows_frame(columns: list[str], rows: list[tuple[object, ...]]) -> pl.DataFrame:
    values: list[tuple[object, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return pl.DataFrame([column(name, data) for name, data in zip(columns, values, strict=True)])


# Each column's kind, looked up by name: comparing polars types (``dtype == pl.Date()``) cost more than
# building a small answer's column (a child page builds some 90).
_UTF8 = pl.Utf8()
_DATES = frozenset(name for name, dtype in COLUMN_TYPES.items() if dtype == pl.Date())
_BOOLEANS = frozenset(name for name, dtype in COLUMN_TYPES.items() if dtype == pl.Boolean())
_LENIENT = frozenset(name for name, dtype in COLUMN_TYPES.items() if dtype == pl.Float64())  # ints among the floats


def column(name: str, data: tuple[object, ...]) -> pl.Series:
    if name in _DATES:
        # SQLite hands dates back as ISO text (as SQLAlchemy's Date wrote them), PostgreSQL as dates.
        if len(data) > SMALL_ANSWER_ROWS and all(isinstance(v, str) or v is None for v in data[:1000]):
            parsed_at_once = _iso_dates(name, data)
            if parsed_at_once is not None:
                return parsed_at_once
        # Each distinct text is parsed once, in Python: polars' str.to_date has a fixed cost per call
        # that was a tenth of a child page's time (a dozen small answers, each with date columns).
        parsed = {v: date.fromisoformat(v) for v in set(data) if isinstance(v, str)}
        return pl.Series(name, [parsed.get(v, v) for v in data] if parsed else data, dtype=pl.Date)  # type: ignore[call-overload]
    if name in _BOOLEANS:
        return pl.Series(name, data, strict=False).cast(pl.Boolean)
    return pl.Series(name, data, dtype=COLUMN_TYPES.get(name, _UTF8), strict=name not in _LENIENT)


def _iso_dates(name: str, data: tuple[object, ...] | pl.Series) -> pl.Series | None:
    """A large answer's ISO date texts parsed by polars at once (a Python date object per value, the
    small answers' way, was most of the time of turning a department's answer into columns); None
    when a value is not ``YYYY-MM-DD`` text, for the caller's own parsing to decide."""
    try:
        text = data if isinstance(data, pl.Series) else pl.Series(name, data, dtype=pl.Utf8)
        dates = text.str.to_date("%Y-%m-%d", strict=True)
    except (TypeError, pl.exceptions.PolarsError):
        return None
    ok = text.is_null() | (text.str.len_bytes() == 10)  # what date.fromisoformat reads: zero-padded
    return dates if bool(ok.all()) else None
