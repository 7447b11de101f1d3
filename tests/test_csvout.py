import csv
import io

import pytest

from tsunagu.csvout import escape_cell, write_rows


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+81", "'+81"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("髙橋", "髙橋"),
        ("1-2-3", "1-2-3"),
        (None, ""),
        (12, "12"),
    ],
)
def test_formula_cells_are_escaped(value: object, expected: str) -> None:
    assert escape_cell(value) == expected


def test_write_rows_escapes_header_and_cells() -> None:
    out = io.StringIO()
    assert write_rows(out, ["=a", "b"], [["=1+1", "ok"]]) == 1
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["'=a", "b"], ["'=1+1", "ok"]]
