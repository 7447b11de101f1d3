"""Readers: turn an export file into header + numbered rows, accounting for every byte.

CP932 is always decoded as ``cp932`` (``shift_jis`` fails on 髙, 﨑, ①). A line whose bytes do
not decode is never repaired: it becomes a row-level problem with its row and byte offset, and
the rest of the file still loads.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from tsunagu.errors import InputError

BOM = b"\xef\xbb\xbf"


class UnreadableFileError(InputError, ValueError):
    """The file cannot be read at all (wrong format, no header, …)."""

    code = "unreadable_file"


@dataclass(frozen=True)
class BadLine:
    """A physical line that could not be decoded."""

    row: int  # data row number (1 = first row after the header)
    byte_offset: int  # offset of the first undecodable byte in the file
    reason: str
    raw: bytes


@dataclass
class Table:
    """What a reader produces: the header, data rows numbered from 1, and undecodable lines."""

    header: list[str]
    rows: list[tuple[int, list[str]]]
    bad_lines: list[BadLine] = field(default_factory=list)
    encoding: str = ""
    encoding_note: str = ""
    date1904: bool | None = None  # an xlsx workbook's own date system; None for CSV (the manifest says)

    @property
    def rows_in(self) -> int:
        return len(self.rows) + len(self.bad_lines)


# Signatures of files that are not text, as people rename them: (magic bytes, Japanese, English).
_SIGNATURES = (
    (b"PK\x03\x04", "Excel（.xlsx）などのZIP形式のファイルです。CSVで保存し直すか、取込定義の format を xlsx にしてください",
     "a ZIP file such as an .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧形式のExcel（.xls）などのファイルです。CSVで保存し直してください",
     "an old Excel (.xls) or other OLE file"),
    (b"%PDF", "PDFファイルです", "a PDF file"),
)
_SAMPLE = 8192
# Control characters never written by a text export (tab, LF, CR, form feed and the DOS end-of-file
# mark are). A text file has none; a binary one has them everywhere.
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 26)) + b"\x7f"


def refuse_non_text(path: Path, data: bytes) -> None:
    """Refuse a file that is not text, saying what it looks like, before any column is looked for."""
    head = data[:_SAMPLE]
    for magic, ja, en in _SIGNATURES:
        if head.startswith(magic):
            raise UnreadableFileError(f"{path.name}: テキスト（CSV）ファイルではありません。{ja} / not a text file: {en}")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(head) >= 4 and max(head[0::2].count(0), head[1::2].count(0)) * 2 >= len(head) * 0.4
    ):
        raise UnreadableFileError(
            f"{path.name}: UTF-16で保存されたファイルです。UTF-8またはShift_JIS（CP932）のCSVで保存し直してください"
            " / a UTF-16 file: save it as UTF-8 or CP932 CSV"
        )
    controls = len(head) - len(head.translate(None, _CONTROL))
    if head and controls > max(2, len(head) // 50):
        raise UnreadableFileError(
            f"{path.name}: テキスト（CSV）ファイルではありません（制御文字を含むバイナリデータ） / not a text file (binary data)"
        )


def detect_encoding(data: bytes) -> tuple[str, str]:
    """Pick an encoding for ``auto`` and say why."""
    if data.startswith(BOM):
        return "utf-8-sig", "UTF-8（BOM付き）を検出 / UTF-8 with BOM"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp932", "UTF-8として読めないためCP932と判定 / not valid UTF-8, read as CP932"
    return "utf-8", "UTF-8（BOMなし）と判定 / valid UTF-8 without BOM"


def _decode_lines(data: bytes, encoding: str) -> Iterator[tuple[int, bytes, str | None, str]]:
    """Yield (byte offset, raw line, decoded line or None, reason) for each physical line.

    Splitting on LF is safe for both encodings: 0x0A is never a CP932 trail byte.
    """
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    offset = 0
    if encoding == "utf-8-sig" and data.startswith(BOM):
        offset = len(BOM)
    for raw in data[offset:].split(b"\n"):
        start = offset
        offset += len(raw) + 1
        line = raw[:-1] if raw.endswith(b"\r") else raw
        try:
            yield start, raw, line.decode(codec), ""
        except UnicodeDecodeError as exc:
            yield (
                start + exc.start,
                raw,
                None,
                f"{codec} として解読できないバイト 0x{line[exc.start : exc.end].hex()} / undecodable byte",
            )


def _parse_header(path: Path, text: str, header_row: int) -> list[str]:
    try:
        return [cell.strip() for cell in next(csv.reader([text], strict=True), [])]
    except csv.Error as exc:
        raise UnreadableFileError(f"{path.name}: 見出し行（{header_row}行目）を解析できません（{exc}） / malformed header") from exc


def _no_header(path: Path, header_row: int) -> UnreadableFileError:
    return UnreadableFileError(f"{path.name}: 見出し行（{header_row}行目）がありません / no header row at line {header_row}")


# Characters that make the csv module do more than split on commas: quotes, and line breaks or
# NUL inside a line (which it reports as errors). A line without any of them, and no longer than
# the csv field size limit, parses exactly as ``line.split(",")``.
_CSV_SPECIAL = re.compile('["\r\x00]')


def _read_csv_fast(path: Path, data: bytes, chosen: str, note: str, header_row: int) -> Table | None:
    """The common case in one pass: every line decodes and parses. None means "use the exact path".

    Decoding the whole file at once gives the same text as decoding line by line when it succeeds,
    because LF is never part of a multi-byte character in UTF-8 or CP932. Any undecodable byte or
    malformed line sends the file to :func:`_read_csv_lines`, which accounts for it byte by byte.
    """
    codec = "utf-8" if chosen == "utf-8-sig" else chosen
    start = len(BOM) if chosen == "utf-8-sig" and data.startswith(BOM) else 0
    try:
        text = data[start:].decode(codec)
    except UnicodeDecodeError:
        return None
    # Without quotes, NUL or a CR other than in CRLF, every line is plain (the usual export).
    plain = '"' not in text and "\x00" not in text and text.count("\r") == text.count("\r\n")
    lines = (text.replace("\r\n", "\n") if plain else text).split("\n")
    del text  # the lines hold it again: no need for both at the peak
    if len(lines) < header_row:
        raise _no_header(path, header_row)
    header = _parse_header(path, lines[header_row - 1].removesuffix("\r"), header_row)
    if not any(header):
        raise _no_header(path, header_row)
    limit = csv.field_size_limit()
    body = lines[header_row:]
    if plain and max(map(len, body), default=0) <= limit:
        return Table(header, [(n, line.split(",")) for n, line in enumerate(body, start=1) if line.strip()], [],
                     chosen, note)
    rows: list[tuple[int, list[str]]] = []
    for number, raw_line in enumerate(body, start=1):
        line = raw_line.removesuffix("\r")
        if not line.strip():
            continue
        if len(line) <= limit and _CSV_SPECIAL.search(line) is None:
            rows.append((number, line.split(",")))
            continue
        try:
            parsed = list(csv.reader([line], strict=True))
        except csv.Error:
            return None  # the exact path reports the line with its byte offset
        rows.append((number, parsed[0] if parsed else []))
    return Table(header, rows, [], chosen, note)


def read_csv(path: Path, encoding: Literal["cp932", "utf-8", "auto"], header_row: int) -> Table:
    data = path.read_bytes()
    refuse_non_text(path, data)
    if encoding == "auto":
        chosen, note = detect_encoding(data)
    elif encoding == "utf-8":
        chosen, note = ("utf-8-sig", "UTF-8（BOM付き）") if data.startswith(BOM) else ("utf-8", "UTF-8")
    else:
        chosen, note = "cp932", "CP932"
    fast = _read_csv_fast(path, data, chosen, note, header_row)
    return fast if fast is not None else _read_csv_lines(path, data, chosen, note, header_row)


def _read_csv_lines(path: Path, data: bytes, chosen: str, note: str, header_row: int) -> Table:
    """Line by line, keeping each line's bytes and offset so that a broken line can be reported."""
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    bad: list[BadLine] = []
    good: list[tuple[int, int, bytes, str]] = []
    physical = 0
    for offset, raw, text, reason in _decode_lines(data, chosen):
        physical += 1
        if physical < header_row:
            continue
        if physical == header_row:
            if text is None:
                raise UnreadableFileError(
                    f"{path.name}: 見出し行（{header_row}行目）が解読できません / header undecodable: {reason}"
                )
            header = _parse_header(path, text, header_row)
            continue
        row_number = physical - header_row
        if text is None:
            bad.append(BadLine(row_number, offset, reason, raw))
        elif text.strip():
            good.append((row_number, offset, raw, text))
    if header is None or not any(header):
        raise _no_header(path, header_row)
    for number, offset, raw, text in good:
        # One physical line is one row: exports with line breaks inside quoted cells are refused
        # row by row (strict quoting) rather than silently joined or split.
        try:
            parsed = list(csv.reader([text], strict=True))
        except csv.Error as exc:
            bad.append(BadLine(number, offset, f"CSVの行として解析できません（{exc}） / malformed CSV line", raw))
            continue
        rows.append((number, parsed[0] if parsed else []))
    return Table(header, rows, bad, chosen, note)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(path: Path, header_row: int) -> Table:
    from xml.etree.ElementTree import ParseError

    from openpyxl import load_workbook

    from tsunagu.ingest.xlsx_rows import size_sheets_from_their_head

    size_sheets_from_their_head()
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken zip
        raise UnreadableFileError(f"{path.name}: Excelファイルとして読めません / not a readable xlsx: {exc}") from exc
    try:
        return _sheet_table(path, workbook, header_row)
    except ParseError as exc:  # broken XML among the rows (openpyxl used to find it on opening)
        raise UnreadableFileError(f"{path.name}: Excelファイルとして読めません / not a readable xlsx: {exc}") from exc
    finally:
        workbook.close()


def _sheet_table(path: Path, workbook: Any, header_row: int) -> Table:
    """The first sheet's header and rows."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    from tsunagu.ingest.xlsx_rows import fast_rows

    date1904 = workbook.epoch == CALENDAR_MAC_1904
    sheet = workbook.worksheets[0]
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    values_by_row = fast_rows(sheet)  # openpyxl's values, read faster; None when openpyxl must read them
    if values_by_row is None:
        values_by_row = sheet.iter_rows(values_only=True)
    for physical, values in enumerate(values_by_row, start=1):
        if physical < header_row:
            continue
        cells = [_cell_text(v) for v in values]
        if physical == header_row:
            header = [c.strip() for c in cells]
            continue
        if any(c.strip() for c in cells):
            rows.append((physical - header_row, cells))
    if header is None or not any(header):
        raise UnreadableFileError(
            f"{path.name}: 見出し行（{header_row}行目）がありません / no header row at line {header_row}"
        )
    while header and not header[-1]:
        header.pop()
    return Table(header, rows, [], "xlsx", "Excel (.xlsx)", date1904)


def read_table(
    path: Path, fmt: Literal["csv", "xlsx"], encoding: Literal["cp932", "utf-8", "auto"], header_row: int
) -> Table:
    if fmt == "xlsx":
        return read_xlsx(path, header_row)
    return read_csv(path, encoding, header_row)
