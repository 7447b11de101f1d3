"""A node answer's columns, typed the same whichever way the rows were read.

Every answer column has one polars type, fixed by its name (``COLUMN_TYPES``; text otherwise),
whether any row came back or not. Rows come either as the driver's tuples (``rows_frame``: every
back-end, and small answers) or, from a SQLite vault, as Arrow batches (``arrow_frame``: no Python
object per value, store.arrow). The tuple path is the reference: the Arrow path gives the same
frame or, when a column's values are not of the kinds the tuple path would take as they are, None,
and the caller reads the tuples (tests/vault/test_arrow_answers.py holds the two paths equal).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl
import pyarrow as pa

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



def arrow_frame(names: list[str], batches: Iterable[pa.RecordBatch | None]) -> pl.DataFrame | None:
    """The Arrow batches' rows as the frame ``rows_frame`` builds from the same rows; None when a
    column holds values the Arrow path does not take as they are (the caller reads the tuples).

    ``names`` are the query's column names: the batches' must be the same. A batch of None (a value
    that did not fit its column's Arrow type, store.arrow) is None too."""
    parts: list[pl.DataFrame] = []
    for batch in batches:
        if batch is None or batch.schema.names != names:
            return None
        part = pl.from_arrow(batch)
        assert isinstance(part, pl.DataFrame)
        columns = [_arrow_column(name, part[name]) for name in names]
        if any(c is None for c in columns):
            return None
        parts.append(pl.DataFrame(columns))
    if not parts:
        return rows_frame(names, [])
    return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical_relaxed")


def _arrow_column(name: str, values: pl.Series) -> pl.Series | None:
    """One column in the type ``column`` gives it, or None. SQLite's values come as ADBC typed them:
    a column of NULLs only as int64, integers as int64, reals as float64, text as text (and a column
    mixing them as text)."""
    target = COLUMN_TYPES.get(name, _UTF8)
    if values.null_count() == values.len():
        return values.cast(target)
    kind = values.dtype
    if name in _DATES:
        # ISO text only, as SQLAlchemy's Date writes it; any other spelling goes the tuple way.
        return _iso_dates(name, values) if kind == pl.Utf8() else None
    if name in _BOOLEANS:
        return values.cast(pl.Boolean) if kind == pl.Int64() else None  # 0/1, as the tuple path casts them
    if name in _LENIENT:
        return values.cast(target) if kind in (pl.Float64(), pl.Int64()) else None
    return values if kind == target else None
