"""A municipality's own exports (issue #17, ingest): hand-made files with the traps real exports have.

Nothing here comes from the synthetic generator: each file is written by hand the way a host system
or a clerk with Excel writes it (CP932, a BOM, Excel serial dates, full-width digits, duplicated or
missing columns, ragged rows, a binary file renamed .csv), under a manifest of our own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tsunagu.catalog.manifest import load_manifests
from tsunagu.errors import ConfigurationError, ExitCode
from tsunagu.ingest.dates import DateParseError, excel_serial_date
from tsunagu.ingest.load import FileRefusedError, HeldSnapshot, Ingestor, ManifestInvalidError, SnapshotHeldError
from tsunagu.ingest.readers import UnreadableFileError
from tsunagu.yamlstrict import ConfigError

# A register export as a town's own host system writes it: its own column names, no preamble line.
REGISTER_MANIFEST = """\
source: town_register
department: resident_registry
label: 住民記録（町の独自形式）
files: "town_register_*.csv"
format: csv
encoding: auto
local_id: [宛名番号]
identifiers:
  aza_number: 宛名番号
  full_name: 氏名
  full_reading: フリガナ
  birth_date: 生年月日
  sex: 性別
  address: 住所
items:
  - {item: household_size, column: 世帯人員}
  - {item: move_in_date, column: 転入日}
  - {item: relationship_to_head, column: 続柄}
legal_use: {law: 個人情報の保護に関する法律, article: "69", clause: "2", item: "2", reason: 支援を要する子どもを早期に把握するため相当の理由がある}
retention_years: 5
refresh: monthly
"""
HEADER = "宛名番号,氏名,フリガナ,生年月日,性別,住所,世帯人員,転入日,続柄"


def person(aza: str, name: str = "髙橋　太郎", birth: str = "2018-04-01", size: str = "3", moved_in: str = "",
           relation: str = "子") -> str:
    return f"{aza},{name},タカハシ　タロウ,{birth},男,つなぐ市中央町1-2-3,{size},{moved_in},{relation}"


def write(path: Path, lines: list[str], encoding: str = "utf-8", bom: bool = False) -> Path:
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "town_register.yaml").write_text(REGISTER_MANIFEST, encoding="utf-8")
    return folder


def _ingestor(tmp_path: Path, manifests: Path, **options: object) -> Ingestor:
    return Ingestor(load_manifests(manifests), tmp_path / "vaults", f"sqlite:///{tmp_path / 'hub.sqlite3'}",
                    **options)  # type: ignore[arg-type]


@pytest.fixture(params=[True, False], ids=["columnar", "rows"])
def ingestor(request: pytest.FixtureRequest, tmp_path: Path, manifests: Path) -> Iterator[Ingestor]:
    ing = _ingestor(tmp_path, manifests, columnar=request.param)
    yield ing
    ing.close()


def _vault(tmp_path: Path) -> Path:
    return tmp_path / "vaults" / "resident_registry.sqlite3"


def _rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(_vault(tmp_path)) as conn:
        return list(conn.execute(sql).fetchall())


def _current(tmp_path: Path) -> list[str]:
    return [str(r[0]) for r in _rows(tmp_path, "select local_id from records where valid_to is null order by local_id")]


def _four(tmp_path: Path, ingestor: Ingestor) -> None:
    ingestor.ingest_file(write(tmp_path / "in" / "town_register_20260930.csv",
                               [HEADER, *(person(f"100000000{i}") for i in range(1, 5))], "cp932"))


# --- 9: the snapshot guard ----------------------------------------------------------------------


@pytest.mark.parametrize("lines", [
    [HEADER],  # header only
    [HEADER, "", ""],  # header and blank lines
    [HEADER, person(""), person("", name="佐藤　花子")],  # every row quarantined (no 宛名番号)
], ids=["header-only", "blank-lines", "all-quarantined"])
def test_an_export_without_usable_rows_is_held_and_changes_nothing(
    tmp_path: Path, ingestor: Ingestor, lines: list[str]
) -> None:
    _four(tmp_path, ingestor)
    before = _rows(tmp_path, "select count(*) from loads"), _rows(tmp_path, "select count(*) from quarantine")
    with pytest.raises(SnapshotHeldError) as held:
        ingestor.ingest_file(write(tmp_path / "in" / "town_register_20261031.csv", lines))
    message = str(held.value)
    assert "保留" in message and "town_register_20261031.csv" in message and "--accept-drop" in message
    assert held.value.held.current == 4 and held.value.held.loaded == 0
    assert _current(tmp_path) == [f"100000000{i}" for i in range(1, 5)]
    assert (_rows(tmp_path, "select count(*) from loads"), _rows(tmp_path, "select count(*) from quarantine")) == before


def test_a_wrongly_encoded_export_is_held(tmp_path: Path, manifests: Path) -> None:
    """A CP932 file under a manifest that says UTF-8: the (ASCII) header reads, no row does."""
    ascii_names = ["aza", "name", "reading", "birth", "sex", "address", "size", "moved_in", "relation"]
    names = dict(zip(HEADER.split(","), ascii_names, strict=True))
    text = REGISTER_MANIFEST.replace("encoding: auto", "encoding: utf-8")
    for japanese, ascii_name in names.items():
        text = text.replace(f": {japanese}", f": {ascii_name}").replace(f"[{japanese}]", f"[{ascii_name}]")
    (manifests / "town_register.yaml").write_text(text, encoding="utf-8")
    header = ",".join(names.values())
    ing = _ingestor(tmp_path, manifests)
    try:
        ing.ingest_file(write(tmp_path / "in" / "town_register_20260930.csv", [header, person("1000000001")]))
        with pytest.raises(SnapshotHeldError):
            ing.ingest_file(write(tmp_path / "in" / "town_register_20261031.csv",
                                  [header, person("1000000001"), person("1000000002")], "cp932"))
    finally:
        ing.close()
    assert _current(tmp_path) == ["1000000001"]


def test_dropping_more_than_half_is_held_half_is_applied(tmp_path: Path, ingestor: Ingestor) -> None:
    _four(tmp_path, ingestor)
    with pytest.raises(SnapshotHeldError) as held:
        ingestor.ingest_file(write(tmp_path / "in" / "town_register_20261031.csv", [HEADER, person("1000000001")]))
    assert "4件" in str(held.value) and "1件" in str(held.value)
    assert len(_current(tmp_path)) == 4
    ingestor.ingest_file(write(tmp_path / "in" / "town_register_20261130.csv",
                               [HEADER, person("1000000001"), person("1000000002")]))
    assert _current(tmp_path) == ["1000000001", "1000000002"]


def test_the_share_is_configured_in_the_manifest(tmp_path: Path, manifests: Path) -> None:
    (manifests / "town_register.yaml").write_text(REGISTER_MANIFEST + "snapshot_guard: {max_drop: 0.2}\n", "utf-8")
    ing = _ingestor(tmp_path, manifests)
    try:
        _four(tmp_path, ing)
        with pytest.raises(SnapshotHeldError):  # 25 % fewer: more than the 20 % allowed
            ing.ingest_file(write(tmp_path / "in" / "town_register_20261031.csv",
                                  [HEADER, *(person(f"100000000{i}") for i in range(1, 4))]))
    finally:
        ing.close()
    assert len(_current(tmp_path)) == 4


def test_accepting_the_drop_applies_it_and_reports_it(tmp_path: Path, manifests: Path) -> None:
    accepted: list[HeldSnapshot] = []
    ing = _ingestor(tmp_path, manifests, accept_drop=accepted.append)
    try:
        _four(tmp_path, ing)
        report = ing.ingest([write(tmp_path / "in" / "town_register_20261031.csv", [HEADER])])
    finally:
        ing.close()
    assert [h.file for h in accepted] == ["town_register_20261031.csv"] and accepted[0].current == 4
    assert report.files[0].accepted_drop and report.held == []
    assert _current(tmp_path) == []


def test_a_held_file_is_reported_and_the_others_load(tmp_path: Path, ingestor: Ingestor) -> None:
    _four(tmp_path, ingestor)
    report = ingestor.ingest([write(tmp_path / "in" / "town_register_20261031.csv", [HEADER])])
    assert report.files == [] and [Path(h["file"]).name for h in report.held] == ["town_register_20261031.csv"]
    assert not report.ok
    assert "保留" in report.held[0]["reason"]


def test_a_first_export_without_rows_is_held_too(tmp_path: Path, ingestor: Ingestor) -> None:
    with pytest.raises(SnapshotHeldError):
        ingestor.ingest_file(write(tmp_path / "in" / "town_register_20261031.csv", [HEADER]))
    assert _rows(tmp_path, "select count(*) from loads") == [(0,)]


def test_an_older_export_loaded_late_is_not_held(tmp_path: Path, ingestor: Ingestor) -> None:
    """History behind the current snapshot replaces nothing current."""
    _four(tmp_path, ingestor)
    ingestor.ingest_file(write(tmp_path / "in" / "town_register_20260831.csv", [HEADER, person("1000000009")]))
    assert len(_current(tmp_path)) == 4


# --- 10, 13: refused files ----------------------------------------------------------------------


def test_a_duplicated_column_is_refused_naming_it(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write(tmp_path / "in" / "town_register_20261031.csv",
                 [HEADER + ",宛名番号", person("1000000001") + ",1000000002"])
    with pytest.raises(FileRefusedError, match="「宛名番号」"):
        ingestor.ingest_file(path)
    assert not _vault(tmp_path).exists() or _rows(tmp_path, "select count(*) from records") == [(0,)]


def test_every_missing_column_is_named(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write(tmp_path / "in" / "town_register_20261031.csv",
                 ["宛名番号,氏名,フリガナ,住所,世帯人員,転入日,続柄", "1000000001,髙橋　太郎,タカハシ　タロウ,町,3,,子"])
    with pytest.raises(FileRefusedError) as refused:
        ingestor.ingest_file(path)
    assert "「生年月日」" in str(refused.value) and "「性別」" in str(refused.value)


def test_a_file_of_a_broken_manifest_is_refused_as_a_configuration_error(tmp_path: Path, manifests: Path) -> None:
    """The manifest is to be fixed, not the file: the refusal is in the configuration family (exit 3)."""
    (manifests / "town_school.yaml").write_text(
        REGISTER_MANIFEST.replace("town_register", "town_school").replace("resident_registry", "gakko"), "utf-8")
    loaded = load_manifests(manifests, tolerant=True)
    assert list(loaded.manifests) == ["town_register"]
    [problem] = loaded.problems
    assert isinstance(problem.error, ConfigurationError) and "gakko" in problem.message
    with pytest.raises(ConfigError):
        load_manifests(manifests)
    ingestor = Ingestor(loaded, tmp_path / "vaults", f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    try:
        with pytest.raises(ManifestInvalidError) as refused:
            ingestor.ingest_file(write(tmp_path / "in" / "town_school_20261031.csv", [HEADER, person("1000000001")]))
        assert isinstance(refused.value, FileRefusedError) and refused.value.exit_code == ExitCode.CONFIG
        assert "town_school.yaml" in str(refused.value)
        ingestor.ingest_file(write(tmp_path / "in" / "town_register_20261031.csv", [HEADER, person("1000000001")]))
    finally:
        ingestor.close()
    assert _current(tmp_path) == ["1000000001"]


@pytest.mark.parametrize("payload, hint", [
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, "Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "Excel"),
    (b"%PDF-1.7\n" + bytes(range(256)) * 2, "PDF"),
    (bytes(range(256)) * 8, "テキスト"),
    ("宛名番号,氏名\r\n".encode("utf-16"), "UTF-16"),
], ids=["xlsx", "xls", "pdf", "binary", "utf16"])
def test_a_non_text_file_named_csv_is_refused_as_such(
    tmp_path: Path, ingestor: Ingestor, payload: bytes, hint: str
) -> None:
    path = tmp_path / "in" / "town_register_20261031.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    with pytest.raises(UnreadableFileError) as refused:
        ingestor.ingest_file(path)
    assert hint in str(refused.value) and "宛名番号" not in str(refused.value)


# --- 11 and field-level problems ----------------------------------------------------------------


def test_a_bad_non_identifying_value_is_loaded_as_missing_and_flagged(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write(tmp_path / "in" / "town_register_20261031.csv", [
        HEADER,
        person("1000000001", size="-1"),  # a count below zero (catalogue range)
        person("1000000002", moved_in="2027-01-05"),  # moved in after the export date
        person("1000000003", size="三人"),  # not a number
        person("1000000004", relation="むすこ"),  # not a code
        person("1000000005"),
    ], "cp932")
    result = ingestor.ingest_file(path)
    assert (result.rows_in, result.loaded, result.quarantined, result.flagged) == (5, 5, 0, 4)
    flagged = _rows(tmp_path, "select row_number, column_name, status from quarantine order by row_number")
    assert flagged == [(1, "世帯人員", "flagged"), (2, "転入日", "flagged"), (3, "世帯人員", "flagged"),
                       (4, "続柄", "flagged")]
    observed = _rows(tmp_path, "select local_id, item_id from observations order by local_id, item_id")
    assert ("1000000001", "household_size") not in observed and ("1000000002", "move_in_date") not in observed
    assert ("1000000001", "relationship_to_head") in observed  # the rest of the row is kept
    assert ("1000000005", "household_size") in observed


def test_a_birth_date_in_the_future_quarantines_the_row(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write(tmp_path / "in" / "town_register_20261031.csv",
                 [HEADER, person("1000000001", birth="2026-11-02"), person("1000000002", birth="2026-10-31")])
    result = ingestor.ingest_file(path)
    assert (result.loaded, result.quarantined) == (1, 1)
    assert _rows(tmp_path, "select row_number, column_name from quarantine") == [(1, "生年月日")]


def test_a_row_without_its_key_is_still_quarantined(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write(tmp_path / "in" / "town_register_20261031.csv",
                 [HEADER, person("1000000001"), person("1000000002"), person("")])
    result = ingestor.ingest_file(path)
    assert (result.loaded, result.quarantined, result.flagged) == (2, 1, 0)
    assert _rows(tmp_path, "select status from quarantine") == [("open",)]


# --- 12: Excel serial dates ---------------------------------------------------------------------


def test_excel_serials_in_both_date_systems() -> None:
    assert excel_serial_date(43466) == date(2019, 1, 1)
    assert excel_serial_date(59) == date(1900, 2, 28)
    assert excel_serial_date(61) == date(1900, 3, 1)  # Lotus's 29 February 1900 (serial 60) shifts the rest
    with pytest.raises(DateParseError, match="1900年2月29日"):
        excel_serial_date(60)
    assert excel_serial_date(42004, date1904=True) == date(2019, 1, 1)
    assert excel_serial_date(0, date1904=True) == date(1904, 1, 1)


def test_serial_dates_and_full_width_digits_in_a_csv(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write(tmp_path / "in" / "town_register_20261031.csv", [
        HEADER,
        person("1000000001", birth="43466", moved_in="45658"),
        person("１００００００００２", birth="４３４６７", size="２"),
        person("1000000003", birth="43468.0"),
    ], bom=True)
    result = ingestor.ingest_file(path)
    assert (result.loaded, result.quarantined, result.flagged) == (3, 0, 0)
    births = _rows(tmp_path, "select local_id, aza_number, birth_date from records order by local_id")
    assert births == [("1000000001", "1000000001", "2019-01-01"), ("1000000002", "1000000002", "2019-01-02"),
                      ("1000000003", "1000000003", "2019-01-03")]
    assert _rows(tmp_path, "select value_text from observations where item_id = 'move_in_date'") == [("2025-01-01",)]


def test_the_1904_system_is_declared_for_a_csv(tmp_path: Path, manifests: Path) -> None:
    (manifests / "town_register.yaml").write_text(REGISTER_MANIFEST + "excel_date_system: 1904\n", "utf-8")
    ing = _ingestor(tmp_path, manifests)
    try:
        ing.ingest_file(write(tmp_path / "in" / "town_register_20261031.csv", [HEADER, person("1000000001", birth="42004")]))
    finally:
        ing.close()
    assert _rows(tmp_path, "select birth_date from records") == [("2019-01-01",)]


@pytest.mark.parametrize("date1904", [False, True], ids=["1900", "1904"])
def test_serial_numbers_in_xlsx_cells(tmp_path: Path, manifests: Path, date1904: bool) -> None:
    from openpyxl import Workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    text = REGISTER_MANIFEST.replace('"town_register_*.csv"', '"town_register_*.xlsx"').replace("format: csv",
                                                                                              "format: xlsx")
    (manifests / "town_register.yaml").write_text(text, "utf-8")
    wb = Workbook()
    if date1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append(HEADER.split(","))
    serial = 42004 if date1904 else 43466  # 2019-01-01 in each system, stored as a plain number
    ws.append(["1000000001", "髙橋　太郎", "タカハシ　タロウ", serial, "男", "町", 3, None, "子"])
    ws.append(["1000000002", "髙橋　花子", "タカハシ　ハナコ", date(2019, 1, 2), "女", "町", 3, None, "子"])
    path = tmp_path / "in" / "town_register_20261031.xlsx"
    path.parent.mkdir()
    wb.save(path)
    ing = _ingestor(tmp_path, manifests)
    try:
        result = ing.ingest_file(path)
    finally:
        ing.close()
    assert (result.loaded, result.quarantined) == (2, 0)
    assert _rows(tmp_path, "select birth_date from records order by local_id") == [("2019-01-01",), ("2019-01-02",)]


def test_a_ragged_row_is_quarantined_and_a_short_one_loads(tmp_path: Path, ingestor: Ingestor) -> None:
    path = write(tmp_path / "in" / "town_register_20261031.csv", [
        HEADER,
        person("1000000001") + ",余分,列",
        "1000000002,髙橋　花子,タカハシ　ハナコ,2018-05-01,女,町",  # the trailing empty cells left out
        person("1000000003"),
    ], "cp932")
    result = ingestor.ingest_file(path)
    assert (result.loaded, result.quarantined) == (2, 1)
    assert _rows(tmp_path, "select row_number, column_name from quarantine") == [(1, "(行)")]


@pytest.mark.postgres
def test_the_guard_and_flags_on_postgres(tmp_path: Path, manifests: Path, pg_url: str) -> None:
    from sqlalchemy import create_engine, text

    ing = Ingestor(load_manifests(manifests), tmp_path / "v", pg_url)
    try:
        ing.ingest_file(write(tmp_path / "in" / "town_register_20260930.csv",
                              [HEADER, person("1000000001", size="-1"), person("1000000002")]))
        with pytest.raises(SnapshotHeldError):
            ing.ingest_file(write(tmp_path / "in" / "town_register_20261031.csv", [HEADER]))
    finally:
        ing.close()
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        current = conn.execute(text("select count(*) from vault_resident_registry.records"
                                    " where source = 'town_register' and valid_to is null")).scalar_one()
        flagged = conn.execute(text("select count(*) from vault_resident_registry.quarantine"
                                    " where source = 'town_register' and status = 'flagged'")).scalar_one()
    with engine.begin() as conn:  # the session's database is shared: leave the vault schema to the next test
        conn.execute(text("drop schema vault_resident_registry cascade"))
    engine.dispose()
    assert (current, flagged) == (2, 1)


def test_a_source_may_declare_empty_exports_normal(tmp_path: Path) -> None:
    """心の天気 is a voluntary daily report: a day without entries is applied, not held."""
    from tsunagu.catalog.manifest import packaged_manifests

    ing = Ingestor(packaged_manifests(), tmp_path / "vaults", f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    header = ["※合成データ", "学校コード,児童生徒番号,日付,天気"]
    try:
        ing.ingest_file(write(tmp_path / "kokoro_tenki_20261030.csv", [*header, "S001,0001,2026-10-30,晴れ"]))
        result = ing.ingest_file(write(tmp_path / "kokoro_tenki_20261031.csv", header))
    finally:
        ing.close()
    assert (result.rows_in, result.loaded, result.accepted_drop) == (0, 0, False)
