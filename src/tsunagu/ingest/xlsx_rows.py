"""A faster reading of an openpyxl read-only sheet's rows, giving exactly what ``iter_rows`` gives.

openpyxl builds several Python objects per cell (for an inline string a whole rich-text tree), which
makes reading a large export slower than converting and storing it. Sheets written the plain way
(by Excel, by openpyxl, by the synthetic generator) are read here with a strict tokenizer over the
``<sheetData>`` XML instead, and the values are made by openpyxl's own functions (number casting,
Excel dates, coordinates) with the logic of ``WorkSheetParser.parse_cell`` and
``ReadOnlyWorksheet._cells_by_row`` (``values_only=True``, ``data_only=True``).

The tokenizer accepts only what it understands completely: any other construct (CDATA, comments,
unknown entities, prefixed or unexpected elements, rich text in a cell, carriage returns that XML
would normalise, an encoding other than UTF-8, …) returns None and the caller reads the sheet with
openpyxl. Everything outside ``<sheetData>`` is still parsed by openpyxl, so its errors and
warnings stay the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO
from typing import Any
from warnings import warn

from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser, _cast_number
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.functions import iterparse

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

# XML white space is only these characters (\s would also take U+3000 and others).
_WS = "[ \t\n]"
_ATTRS = rf"((?:{_WS}+[A-Za-z_][\w.:-]*{_WS}*={_WS}*(?:\"[^\"<&\t\n]*\"|'[^'<&\t\n]*'))*){_WS}*"
_ATTR = re.compile(rf"([A-Za-z_][\w.:-]*){_WS}*={_WS}*(?:\"([^\"]*)\"|'([^']*)')")
_TEXT = r"([^<]*)"
_ROW = re.compile(rf"{_WS}*<row(?=[ \t\n/>]){_ATTRS}(/>|>)")
_ROW_END = re.compile(rf"{_WS}*</row{_WS}*>")
_CELL = re.compile(rf"{_WS}*<c(?=[ \t\n/>]){_ATTRS}(/>|>)")
_CELL_END = re.compile(rf"{_WS}*</c{_WS}*>")
# Children of a cell: value, formula (ignored: data_only), inline string made only of <t> runs.
_VALUE = re.compile(rf"{_WS}*<v(?=[ \t\n/>]){_ATTRS}(?:/>|>{_TEXT}</v{_WS}*>)")
_FORMULA = re.compile(rf"{_WS}*<f(?=[ \t\n/>]){_ATTRS}(?:/>|>{_TEXT}</f{_WS}*>)")
_INLINE = re.compile(rf"{_WS}*<is(?=[ \t\n/>]){_ATTRS}(/>|>)")
_INLINE_END = re.compile(rf"{_WS}*</is{_WS}*>")
_RUN = re.compile(rf"{_WS}*<t(?=[ \t\n/>]){_ATTRS}(?:/>|>{_TEXT}</t{_WS}*>)")
_SPACE = re.compile(rf"{_WS}*")

_SHEET_DATA = re.compile(rb"<sheetData\s*(/>|>)")
_SHEET_DATA_END = re.compile(rb"</sheetData\s*>")
_DECLARATION = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']+)[\"']")
_ROOT = re.compile(rb"<worksheet(\s[^>]*)?>")
_PREFIX_DECL = re.compile(r"xmlns:([\w.-]+)\s*=")
# Constructs the tokenizer does not handle: markup declarations, CDATA, comments, processing
# instructions, carriage returns (XML normalises them), characters XML forbids, namespace
# declarations, and "]]>", which XML forbids in text.
_UNHANDLED = re.compile(r"<!|<\?|\r|[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|xmlns|\]\]>")
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|lt|gt|amp|quot|apos);|&")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


_DIMENSION_TAG = f"{{{MAIN_NS}}}dimension"
_SHEET_DATA_TAG = f"{{{MAIN_NS}}}sheetData"
_OPENPYXL_GET_SIZE = ReadOnlyWorksheet._get_size


def _size_from_head(sheet: Any) -> None:
    """``ReadOnlyWorksheet._get_size``, reading the sheet XML only up to ``<sheetData>``.

    openpyxl looks for ``<dimension>`` among iterparse's *end* events, and ``<sheetData>`` ends
    after its last row: a sheet written without ``<dimension>`` (openpyxl's write-only mode, the
    synthetic exports, other systems' writers) was parsed whole into elements when the workbook
    opened, only to learn it has none — half the CPU time of reading a 100,000-row sheet, whose rows
    are then read again. The schema puts ``<dimension>`` before ``<sheetData>``, and a start event
    has the element's attributes: the same boundaries, or none, as openpyxl's own."""
    source = sheet._get_source()
    try:
        for _event, element in iterparse(source, events=("start",)):
            if element.tag == _DIMENSION_TAG:
                bounds = SheetDimension.from_tree(element).boundaries
                sheet._min_column, sheet._min_row, sheet._max_column, sheet._max_row = bounds
                return
            if element.tag == _SHEET_DATA_TAG:
                return
    finally:
        source.close()


def size_sheets_from_their_head() -> None:
    """Open read-only sheets with :func:`_size_from_head` (for every workbook of the process: the
    result is openpyxl's own; idempotent). Broken XML after ``<sheetData>`` is then found while the
    rows are read, not when the workbook opens (readers.read_xlsx refuses it either way)."""
    ReadOnlyWorksheet._get_size = _size_from_head


class _Unhandled(Exception):
    """Something the tokenizer does not read exactly as expat would: use openpyxl."""


def _char(match: re.Match[str]) -> str:
    name = match.group(1)
    if name is None:
        raise _Unhandled("bare ampersand")
    if name in _NAMED:
        return _NAMED[name]
    code = int(name[2:], 16) if name[1] == "x" else int(name[1:])
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF:
        return chr(code)
    raise _Unhandled("character reference to a character XML forbids")


def _text(raw: str) -> str:
    return _ENTITY.sub(_char, raw) if "&" in raw else raw


def _attributes(raw: str, declared: frozenset[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, double, single in _ATTR.findall(raw):
        if name in found:
            raise _Unhandled("repeated attribute")
        prefix, colon, _ = name.partition(":")
        if colon and prefix != "xml" and prefix not in declared:
            raise _Unhandled("undeclared prefix")
        found[name] = double if double or not single else single
    return found


def fast_rows(sheet: Any) -> list[tuple[Any, ...]] | None:
    """The rows ``sheet.iter_rows(values_only=True)`` would give, or None to let openpyxl read them.

    ``sheet`` is an openpyxl ReadOnlyWorksheet of a workbook opened with ``data_only=True``.
    """
    with sheet._get_source() as source:
        data: bytes = source.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    declared = _DECLARATION.search(data[:200])
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return None
    root = _ROOT.search(data)
    start = _SHEET_DATA.search(data)
    if root is None or start is None or f'xmlns="{MAIN_NS}"'.encode() not in (root.group(1) or b""):
        return None
    if start.group(1) == b"/>":
        inner_start = inner_end = after = start.end()
    else:
        end = _SHEET_DATA_END.search(data, start.end())
        if end is None:
            return None
        inner_start, inner_end, after = start.end(), end.start(), end.end()
    if _SHEET_DATA.search(data, after) is not None or b"<!DOCTYPE" in data:
        return None
    try:
        inner = data[inner_start:inner_end].decode("utf-8")
        if _UNHANDLED.search(inner):
            return None
        prefixes = frozenset(_PREFIX_DECL.findall((root.group(1) or b"").decode("utf-8")))
        parsed = list(_parse_rows(inner, sheet, prefixes))
    except (_Unhandled, UnicodeDecodeError):
        return None
    # What surrounds the rows goes through openpyxl's own parser, for its errors and warnings.
    parent = sheet.parent
    rest = WorkSheetParser(BytesIO(data[:inner_start] + data[inner_end:]), sheet._shared_strings, data_only=True,
                           epoch=parent.epoch, date_formats=parent._date_formats,
                           timedelta_formats=parent._timedelta_formats)
    for _ in rest.parse():
        return None  # a row outside <sheetData>: openpyxl reads those too
    return _cells_by_row(parsed, sheet.max_column, sheet.max_row)


class _Values:
    """WorkSheetParser.parse_cell's value rules (data_only=True) for one sheet."""

    def __init__(self, sheet: Any) -> None:
        parent = sheet.parent
        self.shared = sheet._shared_strings
        self.epoch = parent.epoch
        self.date_formats = parent._date_formats
        self.timedelta_formats = parent._timedelta_formats
        self.columns: dict[str, int] = {}

    def column(self, letters: str) -> int:
        found = self.columns.get(letters)
        if found is None:
            found = self.columns[letters] = column_index_from_string(letters)
        return found

    def value(self, data_type: str, style: Any, value: str | None, inline: str | None, coordinate: str | None) -> Any:
        """``value`` is the first <v>'s text, ``inline`` the text of the first <is> (None when absent)."""
        if style:
            style = int(style)
        found: Any = None if data_type == "inlineStr" else value or None
        if found is not None:
            if data_type == "n":
                found = _cast_number(found)
                if style in self.date_formats:
                    try:
                        found = from_excel(found, self.epoch, timedelta=style in self.timedelta_formats)
                    except (OverflowError, ValueError):
                        warn(f"Cell {coordinate} is marked as a date but the serial value {found} is outside "
                             "the limits for dates. The cell will be treated as an error.", stacklevel=2)
                        found = "#VALUE!"
            elif data_type == "s":
                found = self.shared[int(found)]
            elif data_type == "b":
                found = bool(int(found))
            elif data_type == "d":
                found = from_ISO8601(found)
        elif data_type == "inlineStr" and inline is not None:
            found = inline
        return found


# The forms Excel, openpyxl and the synthetic generator write, in one match: coordinate, optional
# style and type (in this order, nothing else), then nothing, a plain <v> or a plain inline string.
_PLAIN_CELL = re.compile(
    r'<c r="([A-Z]{1,3})[0-9]{1,7}"(?: s="([0-9]{1,6})")?(?: t="([a-zA-Z]{1,9})")?'
    r'(?:/>|>(?:<v>([^<&]*)</v>|<is><t(?: xml:space="preserve")?>([^<&]*)</t></is>)</c>)'
)


def _parse_rows(inner: str, sheet: Any, prefixes: frozenset[str]) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """(row index, [(column, value), …]) per <row>, as WorkSheetParser.parse_row numbers them."""
    values = _Values(sheet)
    convert, column_of = values.value, values.column
    plain_cell, any_cell = _PLAIN_CELL.match, _CELL.match
    pos, end, row_counter = 0, len(inner), 0
    while True:
        row = _ROW.match(inner, pos)
        if row is None:
            if _SPACE.match(inner, pos).end() != end:  # type: ignore[union-attr]
                raise _Unhandled("unexpected content between rows")
            return
        pos = row.end()
        attrs = _attributes(row.group(1), prefixes)
        if "r" in attrs:
            try:
                row_counter = int(attrs["r"])
            except ValueError:
                number = float(attrs["r"])
                if not number.is_integer():
                    raise ValueError(f"{attrs['r']} is not a valid row number") from None
                row_counter = int(number)
        else:
            row_counter += 1
        col_counter = 0
        cells: list[tuple[int, Any]] = []
        if row.group(2) == ">":
            while True:
                if (plain := plain_cell(inner, pos)) is not None:
                    pos = plain.end()
                    letters, style, data_type, text, inline = plain.groups()
                    col_counter = column_of(letters)
                    value = convert(data_type or "n", style or 0, text, inline, None)
                    cells.append((col_counter, value))
                    continue
                if (cell := any_cell(inner, pos)) is None:
                    break
                pos = cell.end()
                attrs = _attributes(cell.group(1), prefixes)
                text, inline = None, None
                if cell.group(2) == ">":
                    text, inline, pos = _cell_children(inner, pos)
                    closing = _CELL_END.match(inner, pos)
                    if closing is None:
                        raise _Unhandled("unexpected content in a cell")
                    pos = closing.end()
                coordinate = attrs.get("r")
                if coordinate:
                    col_counter = coordinate_to_tuple(coordinate)[1]
                else:
                    col_counter += 1
                cells.append((col_counter, convert(attrs.get("t", "n"), attrs.get("s", 0), text, inline, coordinate)))
            closing = _ROW_END.match(inner, pos)
            if closing is None:
                raise _Unhandled("unexpected content in a row")
            pos = closing.end()
        yield row_counter, cells


def _cell_children(inner: str, pos: int) -> tuple[str | None, str | None, int]:
    """The first <v>'s text and the first <is>'s text (openpyxl's findtext/find), and the new position."""
    value: str | None = None
    inline: str | None = None
    seen_value = seen_inline = False
    while True:
        if (found := _VALUE.match(inner, pos)) is not None:
            if not seen_value:
                value, seen_value = _text(found.group(2) or ""), True
        elif (found := _FORMULA.match(inner, pos)) is not None:
            pass
        elif (found := _INLINE.match(inner, pos)) is not None:
            if found.group(1).strip():  # Text.from_tree would pass them to Text() and fail
                raise _Unhandled("attributes on <is>")
            pos = found.end()
            runs: list[str] = []
            if found.group(2) == ">":
                while (run := _RUN.match(inner, pos)) is not None:
                    # Text.from_tree keeps the last <t> of <is> (a nested text, not a sequence).
                    runs = [_text(run.group(2))] if run.group(2) else []
                    pos = run.end()
                closing = _INLINE_END.match(inner, pos)
                if closing is None:
                    raise _Unhandled("inline string other than plain <t> runs")
                pos = closing.end()
            if not seen_inline:
                inline, seen_inline = "".join(runs), True
            continue
        else:
            return value, inline, pos
        pos = found.end()


def _cells_by_row(parsed: list[tuple[int, list[tuple[int, Any]]]], max_col: int | None,
                  max_row: int | None) -> list[tuple[Any, ...]]:
    """ReadOnlyWorksheet._cells_by_row with min_col = min_row = 1 and values_only=True."""
    empty_row: tuple[Any, ...] = () if max_col is None else (None,) * max_col
    rows: list[tuple[Any, ...]] = []
    counter, idx = 1, 1
    for idx, cells in parsed:
        if max_row is not None and idx > max_row:
            break
        for _ in range(counter, idx):
            counter += 1
            rows.append(empty_row)
        if counter <= idx:
            rows.append(_get_row(cells, max_col))
            counter += 1
    if max_row is not None and max_row < idx:
        rows.extend(empty_row for _ in range(counter, max_row + 1))
    return rows


def _get_row(cells: list[tuple[int, Any]], max_col: int | None) -> tuple[Any, ...]:
    if not cells and not max_col:
        return ()
    width = max_col or cells[-1][0]
    values: list[Any] = [None] * width
    for column, value in cells:
        if 1 <= column <= width:
            values[column - 1] = value
    return tuple(values)
