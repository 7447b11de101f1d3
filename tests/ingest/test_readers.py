from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagu.ingest.readers import UnreadableFileError, detect_encoding, read_csv


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"\xef\xbb\xbfa,b\r\n", "utf-8-sig"),
        ("氏名,住所\n".encode(), "utf-8"),
        ("髙橋,﨑\n".encode("cp932"), "cp932"),
        (b"plain,ascii\n", "utf-8"),
    ],
)
def test_auto_detection_says_what_it_chose(data: bytes, encoding: str) -> None:
    chosen, note = detect_encoding(data)
    assert chosen == encoding
    assert note


def test_cp932_only_characters_decode(tmp_path: Path) -> None:
    # 髙, 﨑 and ① fail under shift_jis; cp932 must read them.
    path = tmp_path / "f.csv"
    path.write_bytes("h1,h2\n髙橋,①\n山﨑,x\n".encode("cp932"))
    table = read_csv(path, "cp932", 1)
    assert [cells for _, cells in table.rows] == [["髙橋", "①"], ["山﨑", "x"]]
    assert table.bad_lines == []


def test_rows_are_numbered_after_the_header(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"preamble\nh1,h2\n1,2\n\n3,4\n")
    table = read_csv(path, "utf-8", 2)
    assert table.header == ["h1", "h2"]
    assert [n for n, _ in table.rows] == [1, 3]


def test_missing_header_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"only one line\n")
    with pytest.raises(UnreadableFileError, match="見出し行"):
        read_csv(path, "utf-8", 2)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=400),
    encoding=st.sampled_from(["cp932", "utf-8", "auto"]),
    header_row=st.integers(min_value=1, max_value=3),
)
def test_reader_never_crashes_and_accounts_for_every_line(
    tmp_path: Path, data: bytes, encoding: str, header_row: int
) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        table = read_csv(path, encoding, header_row)  # type: ignore[arg-type]
    except UnreadableFileError as exc:
        assert str(exc)
        return
    numbers = [n for n, _ in table.rows] + [b.row for b in table.bad_lines]
    assert len(numbers) == len(set(numbers)) == table.rows_in
    for bad in table.bad_lines:
        assert 0 <= bad.byte_offset < len(data)
