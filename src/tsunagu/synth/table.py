"""One export file: duplicates, ordering, deliberately broken rows, writing, and its truth rows."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from tsunagu.synth.context import Context
from tsunagu.synth.dates import impossible_date
from tsunagu.synth.names import NOT_IN_CP932

Arr = npt.NDArray[Any]
IntArr = npt.NDArray[np.int64]

PID = "_pid"
ORDER = "_ord"

# kinds of deliberately broken cells
IMPOSSIBLE_DATE = "impossible_date"
INVALID_SEX = "invalid_sex"
NON_NUMERIC = "non_numeric"
UNKNOWN_CODE = "unknown_code"
BAD_CLASS = "bad_class"

_BROKEN_SEX = ("不明X", "?", "3")
# never kanji numerals or dashes: an ingest may rightly read 十二 as 12 and － as "none"
_BROKEN_NUMBER = ("??", "不明", "#VALUE!")
_BROKEN_CODE = ("不明コード", "ZZ", "９９")
_BROKEN_CLASS = ("??", "#VALUE!", "2-3")  # a 組 is never a symbol or a grade-and-class pair


def preamble(municipality: str, encoding: str) -> str:
    # CP932 has no EM DASH (U+2014); Shift_JIS systems write HORIZONTAL BAR (U+2015) instead.
    dash = "―" if encoding == "cp932" else "—"
    return f"※合成データ（架空の自治体 {municipality}）SYNTHETIC DATA {dash} not real persons"


@dataclass
class Table:
    source: str
    file: str  # file name inside exports/
    df: pl.DataFrame  # string columns in export order, plus PID
    key: str  # the column holding the row's own id in that source
    sort: list[str]
    encoding: str = "cp932"  # cp932, utf-8 or utf-8-sig
    fmt: str = "csv"  # csv or xlsx
    breakable: list[tuple[str, str, str]] = field(default_factory=list)  # (column, kind, date style)


@dataclass
class Written:
    source: str
    file: str
    rows: int
    records: pl.DataFrame
    broken: list[tuple[str, str, int, str, str]]


def frame(columns: dict[str, Arr], pids: IntArr) -> pl.DataFrame:
    data: dict[str, pl.Series] = {name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()}
    data[PID] = pl.Series(PID, pids, dtype=pl.Int64)
    return pl.DataFrame(data)


def _broken_value(kind: str, style: str, pick: int) -> str:
    if kind == IMPOSSIBLE_DATE:
        return impossible_date(style, pick)
    if kind == INVALID_SEX:
        return _BROKEN_SEX[pick % len(_BROKEN_SEX)]
    if kind == NON_NUMERIC:
        return _BROKEN_NUMBER[pick % len(_BROKEN_NUMBER)]
    if kind == BAD_CLASS:
        return _BROKEN_CLASS[pick % len(_BROKEN_CLASS)]
    return _BROKEN_CODE[pick % len(_BROKEN_CODE)]


def finalize(
    ctx: Context, table: Table, rng: np.random.Generator
) -> tuple[pl.DataFrame, list[tuple[str, str, int, str, str]]]:
    """Add duplicate rows, order the file, break a few cells; return the final frame and the breaks."""
    df = table.df.with_row_index(ORDER)
    n = df.height
    dup = ctx.draw(table.source, "duplicate_row", np.ones(n, dtype=bool), rng)
    if dup.any():
        df = pl.concat([df, df.filter(pl.Series(dup))])
    # a stable sort keeps each duplicate right after its original, as double exports do
    df = df.sort([*table.sort, ORDER], maintain_order=True)
    broken: list[tuple[str, str, int, str, str]] = []
    n = df.height
    if table.breakable:
        hit = ctx.draw(table.source, "broken_row", np.ones(n, dtype=bool), rng)
        rows = np.flatnonzero(hit)
        col_pick = rng.integers(0, len(table.breakable), n)
        value_pick = rng.integers(0, 1_000, n)
        updates: dict[str, tuple[list[int], list[str]]] = {}
        for r in rows:
            # prefer a filled cell: blanking is noise, breaking must leave a visibly wrong value
            for attempt in range(len(table.breakable)):
                column, kind, style = table.breakable[(int(col_pick[r]) + attempt) % len(table.breakable)]
                if df[column][int(r)] not in (None, ""):
                    break
            value = _broken_value(kind, style, int(value_pick[r]))
            updates.setdefault(column, ([], []))
            updates[column][0].append(int(r))
            updates[column][1].append(value)
            broken.append((table.source, table.file, int(r) + 1, column, kind))
        for column, (idx, values) in updates.items():
            series = df[column].clone()
            series.scatter(idx, values)
            df = df.with_columns(series)
    return df.drop(ORDER), broken


def _fixed_zip(data: bytes, stamp: datetime) -> bytes:
    """Rewrite an xlsx zip with fixed timestamps so the same input gives the same bytes.

    openpyxl stamps ``dcterms:modified`` with the wall clock on save whatever the workbook
    says, and zip entries carry the current time; both are pinned to the export date here.
    """
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode("ascii")
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + iso + rb"\g<2>", content
                )
            dst.writestr(fixed, content)
    return out.getvalue()


def write_xlsx(path: Path, header: list[str], rows: pl.DataFrame, first_line: str, stamp: datetime) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.creator = "tsunagu synth"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    ws = wb.create_sheet("データ")
    ws.append([first_line])
    ws.append(header)
    for row in rows.iter_rows():
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(_fixed_zip(buffer.getvalue(), stamp))


def write_table(ctx: Context, table: Table, out_dir: Path) -> Written:
    rng = ctx.rng(f"finalize/{table.file}")
    df, broken = finalize(ctx, table, rng)
    columns = [c for c in df.columns if c != PID]
    # an empty cell is written as nothing at all (not as "") the way host systems write it
    body = df.select(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in columns)
    if table.encoding == "cp932":
        # characters outside CP932 (𠮷) live in host systems as 外字 and come out in their JIS form
        for bad, good in NOT_IN_CP932.items():
            body = body.with_columns(pl.col(c).str.replace_all(bad, good, literal=True) for c in columns)
    first_line = preamble(ctx.profile.municipality.name, table.encoding)
    path = out_dir / table.file
    if table.fmt == "xlsx":
        stamp = datetime(
            ctx.profile.export_date.year, ctx.profile.export_date.month, ctx.profile.export_date.day, 9, 0, 0
        )
        write_xlsx(path, columns, body, first_line, stamp)
    else:
        newline = "\r\n" if table.encoding == "cp932" else "\n"
        text = body.write_csv(include_header=True, line_terminator=newline, quote_style="necessary")
        payload = first_line + newline + text
        if table.encoding == "cp932":
            path.write_bytes(payload.encode("cp932"))
        else:
            path.write_bytes(payload.encode(table.encoding))
    records = pl.DataFrame(
        {
            "source": pl.Series([table.source] * df.height, dtype=pl.String),
            "file": pl.Series([table.file] * df.height, dtype=pl.String),
            "row": pl.Series(np.arange(1, df.height + 1, dtype=np.int64)),
            "local_key": df[table.key].fill_null(""),
            "person_id": df[PID],
        }
    )
    return Written(table.source, table.file, df.height, records, broken)
