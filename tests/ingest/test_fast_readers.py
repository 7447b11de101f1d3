"""The fast readers give exactly what the exact ones give (CSV line by line, openpyxl's iter_rows)."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from tsunagu.ingest import readers, xlsx_rows
from tsunagu.ingest.readers import UnreadableFileError, read_csv
from tsunagu.ingest.xlsx_rows import fast_rows

PIECES = ["a", "髙橋", "①", ",", '"', '""', "\r", "\n", "\r\n", "\x00", " ", "\u3000", "x" * 5, "1,2", "\x1f"]


def _exactly(path: Path, encoding: str, header_row: int) -> readers.Table | str:
    """What the line-by-line reader gives (or its error), with the same encoding choice as read_csv."""
    data = path.read_bytes()
    if encoding == "auto":
        chosen, note = readers.detect_encoding(data)
    elif encoding == "utf-8":
        chosen, note = ("utf-8-sig", "UTF-8（BOM付き）") if data.startswith(readers.BOM) else ("utf-8", "UTF-8")
    else:
        chosen, note = "cp932", "CP932"
    try:
        readers.refuse_non_text(path, data)  # before either reader: the same refusal for both
        return readers._read_csv_lines(path, data, chosen, note, header_row)
    except UnreadableFileError as exc:
        return str(exc)


def _fast(path: Path, encoding: str, header_row: int) -> readers.Table | str:
    try:
        return read_csv(path, encoding, header_row)  # type: ignore[arg-type]
    except UnreadableFileError as exc:
        return str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
    encoding=st.sampled_from(["cp932", "utf-8", "auto"]),
    as_cp932=st.booleans(),
    bom=st.booleans(),
    junk=st.sampled_from([b"", b"\x82\xff", b"\xff"]),
    header_row=st.integers(min_value=1, max_value=3),
)
def test_fast_csv_reading_equals_line_by_line(tmp_path: Path, text: str, encoding: str, as_cp932: bool, bom: bool,
                                             junk: bytes, header_row: int) -> None:
    data = ("h1,h2,h3\n" + text).encode("cp932" if as_cp932 else "utf-8") + junk
    path = tmp_path / "f.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    assert _fast(path, encoding, header_row) == _exactly(path, encoding, header_row)


def test_a_line_longer_than_the_csv_field_limit_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"h1,h2\n" + b"x" * 200_000 + b",1\nok,2\n")
    table = read_csv(path, "utf-8", 1)
    assert [n for n, _ in table.rows] == [2]
    assert [b.row for b in table.bad_lines] == [1]


def _values(path: Path) -> tuple[list[tuple[Any, ...]] | None, list[tuple[Any, ...]]]:
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return fast_rows(sheet), list(sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _book(path: Path, rows: list[list[Any]], write_only: bool = False) -> Path:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet() if write_only else book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


ROWS: list[list[Any]] = [
    ["※合成データ"],
    ["宛名番号", "施設名", "入所日", "出席率", "備考"],
    ["1000000001", "つなぐ保育園", datetime(2025, 4, 1), 87.5, "a&b<c>'\"d"],
    ["1000000002", " 前後に空白 ", "令和7年4月1日", "九十", None],
    [None, None, None, None, None],
    [1000000003, True, date(2025, 4, 1), 1e20, "改行\nあり"],
    ["=1+1", False, time(12, 30), -0.5, "x\ty"],
    [None, None, None, None, "端だけ"],
]


@pytest.mark.parametrize("write_only", [False, True])
def test_fast_xlsx_rows_equal_openpyxl(tmp_path: Path, write_only: bool) -> None:
    fast, slow = _values(_book(tmp_path / "b.xlsx", ROWS, write_only))
    assert fast is not None
    assert fast == slow


def _rewrite_sheet(path: Path, change: Any) -> Path:
    """A copy of the workbook with its first sheet's XML changed by ``change(xml) -> xml``."""
    out = path.with_name("changed.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data.decode("utf-8")).encode("utf-8")
            dst.writestr(item, data)
    return out


SHEET_CHANGES = {
    # handled by the tokenizer
    "whitespace between elements": lambda x: x.replace("<c ", "\n  <c ").replace("</row>", "\n</row>"),
    "cells without coordinates": lambda x: re.sub(r' r="[A-Z]+\d+"', "", x),
    "rows without numbers": lambda x: re.sub(r'<row r="\d+"', "<row", x),
    "numbered gaps": lambda x: x.replace('<row r="3"', '<row r="9"'),
    "no dimension": lambda x: re.sub(r"<dimension[^>]*/>", "", x),
    "small dimension": lambda x: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:B3"', x),
    "numeric character references": lambda x: x.replace("つなぐ保育園", "&#12388;&#x306A;ぐ保育園"),
    "empty inline text": lambda x: x.replace("<t>つなぐ保育園</t>", "<t/>"),
    "two runs of text": lambda x: x.replace("<t>つなぐ保育園</t>", "<t>つなぐ</t><t>保育園</t>"),
    "row attributes": lambda x: x.replace("<row ", '<row spans="1:5" ht="15" ', 1),
    "empty cell element": lambda x: x.replace('<c r="E2"', '<c r="F2"/><c r="E2"', 1),
    # left to openpyxl
    "rich text": lambda x: x.replace("<t>つなぐ保育園</t>", "<r><t>つなぐ</t></r><r><t>保育園</t></r>"),
    "phonetic run": lambda x: x.replace("<t>つなぐ保育園</t>", "<t>つなぐ保育園</t><rPh sb=\"0\" eb=\"1\"><t>ツ</t></rPh>"),
    "CDATA": lambda x: x.replace("<t>つなぐ保育園</t>", "<t><![CDATA[つなぐ保育園]]></t>"),
    "comment": lambda x: x.replace("<row ", "<!-- c --><row ", 1),
    "carriage return": lambda x: x.replace("つなぐ保育園", "つなぐ&#13;保育園").replace("</row>", "</row>\r", 1),
    "prefixed row": lambda x: x.replace('<worksheet xmlns="', '<worksheet xmlns:x="http://x" xmlns="')
                                .replace("<row ", '<row x:foo="1" ', 1),
}


@pytest.mark.parametrize("change", sorted(SHEET_CHANGES))
def test_fast_xlsx_rows_equal_openpyxl_on_other_sheet_xml(tmp_path: Path, change: str) -> None:
    path = _rewrite_sheet(_book(tmp_path / "b.xlsx", ROWS), SHEET_CHANGES[change])
    fast, slow = _values(path)
    assert fast is None or fast == slow
    if change in ("rich text", "phonetic run", "CDATA", "comment", "carriage return"):
        assert fast is None
    if change in ("whitespace between elements", "cells without coordinates", "numbered gaps", "no dimension",
                  "small dimension", "numeric character references", "two runs of text", "row attributes"):
        assert fast is not None


def test_fast_xlsx_reads_shared_strings_and_styles(tmp_path: Path) -> None:
    """A sheet as Excel writes it: shared strings, styled dates, booleans, errors, formulas with values."""
    path = _book(tmp_path / "b.xlsx", [["a", "b", "c", "d", "e"], [1, 2, date(2024, 4, 1), 4, 5]])  # style 1: a date
    shared = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
              '<si><t>共有</t></si><si><r><t>リッチ</t></r><r><t>テキスト</t></r><rPh sb="0" eb="1"><t>ﾌﾘ</t></rPh></si></sst>')
    row = ('<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c><c r="C2" s="1"><v>45383</v></c>'
           '<c r="D2" t="e"><v>#N/A</v></c><c r="E2"><f>1+1</f><v>2</v></c><c r="F2" t="str"><v>式</v></c>'
           '<c r="G2" t="b"><v>0</v></c></row>')
    out = tmp_path / "excel.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(r'<row r="2">.*?</row>', row, data.decode()).encode()
                data = re.sub(rb"<dimension[^>]*/>", b'<dimension ref="A1:G2"/>', data)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                    b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                                    b"</Types>")
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats'
                                    b'.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                    b"</Relationships>")
            dst.writestr(item, data)
        dst.writestr("xl/sharedStrings.xml", shared)
    fast, slow = _values(out)
    assert fast is not None
    assert fast == slow
    assert slow[1] == ("共有", "リッチテキスト", datetime(2024, 4, 1), "#N/A", 2, "式", False)


def _sizes(path: Path) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A sheet's boundaries as openpyxl's own _get_size finds them, and as _size_from_head does."""
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        found = []
        for sizing in (xlsx_rows._OPENPYXL_GET_SIZE, xlsx_rows._size_from_head):
            sheet._min_column = sheet._min_row = 1
            sheet._max_column = sheet._max_row = None
            sizing(sheet)
            found.append((sheet._min_column, sheet._min_row, sheet._max_column, sheet._max_row))
        return found[0], found[1]
    finally:
        book.close()


@pytest.mark.parametrize("kind", ["as written", "write-only (no dimension)", "no dimension", "small dimension"])
def test_a_sheet_is_sized_from_its_head_as_openpyxl_sizes_it(tmp_path: Path, kind: str) -> None:
    path = _book(tmp_path / "b.xlsx", ROWS, write_only=kind.startswith("write-only"))
    if kind in SHEET_CHANGES:
        path = _rewrite_sheet(path, SHEET_CHANGES[kind])
    theirs, ours = _sizes(path)
    assert ours == theirs
    if kind in ("as written", "small dimension"):
        assert ours[3] is not None  # the dimension was found, not skipped
    if kind == "small dimension":
        assert ours == (1, 1, 2, 3)


def test_broken_xml_among_the_rows_is_refused_as_unreadable(tmp_path: Path) -> None:
    path = _rewrite_sheet(_book(tmp_path / "b.xlsx", ROWS, write_only=True),
                          lambda x: x.replace("</row>", "", 2).replace("<row ", "<row <", 1))
    with pytest.raises(UnreadableFileError) as refused:
        readers.read_xlsx(path, 2)
    # Sized from its head, the workbook opens: the broken rows are found while they are read.
    load_workbook(path, read_only=True, data_only=True).close()
    assert type(refused.value.__cause__).__name__ == "ParseError"
    fine = readers.read_xlsx(_book(tmp_path / "fine.xlsx", ROWS, write_only=True), 2)
    assert fine.header == ["宛名番号", "施設名", "入所日", "出席率", "備考"] and len(fine.rows) == 5
