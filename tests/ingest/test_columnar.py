"""The column-wise ingest path gives exactly what the row-by-row path gives."""

from __future__ import annotations

import math
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagu.catalog import default_catalog
from tsunagu.catalog.manifest import Manifest, packaged_manifests
from tsunagu.ingest.columnar import ColumnConverter, ConvertedRows
from tsunagu.ingest.convert import ConvertedRow, RowConverter
from tsunagu.ingest.load import Ingestor
from tsunagu.vault.store import IDENTITY_COLUMNS, sqlite_value

EXPORT_DATE = date(2026, 10, 31)

# Every feature a manifest has: a two-column key, identifiers of each kind (two of them setting
# the same columns), allowed values, value maps, conditions (value and list), blank_means,
# present_means, observation dates with and without a style, and a repeated column name.
MANIFEST = Manifest.model_validate({
    "source": "everything",
    "department": "resident_registry",
    "label": "test",
    "files": "everything_*.csv",
    "format": "csv",
    "date_style": "auto",
    "local_id": ["番号", "枝番"],
    "identifiers": {
        "aza_number": "番号", "household_number": "世帯", "full_name": "氏名", "family_name": "姓",
        "full_reading": "カナ", "birth_date": "生年月日", "sex": "性別", "address": "住所", "postal_code": "郵便",
        "guardian_name": "保護者", "previous_address": "旧住所", "local_id": "番号",
    },
    "allowed_values": {"区分": ["住民", "転出", "死亡"]},
    "items": [
        {"item": "relationship_to_head", "column": "続柄"},
        {"item": "foreign_national", "column": "外国人", "values": {"外国人": True, "日本人": False}},
        {"item": "move_out_date", "column": "異動日", "when": {"区分": "転出"}},
        {"item": "death_date", "column": "異動日", "when": {"区分": ["死亡", "失踪"], "外国人": "日本人"}},
        {"item": "household_size", "column": "人数", "blank_means": 0},
        {"item": "nursery_attendance_rate", "column": "出席率", "observed_on": "年月", "observed_style": "year_month"},
        {"item": "single_parent_household", "column": "ひとり親", "present_means": True, "observed_on": "基準日"},
        {"item": "school_code", "column": "学校"},
    ],
    "legal_use": {"law": "法", "article": "1", "clause": "1", "reason": "テストのための理由です。十分に長い"},
    "retention_years": 5,
    "refresh": "monthly",
})
HEADER = ["番号", "枝番", "世帯", "氏名", "姓", "カナ", "生年月日", "性別", "住所", "郵便", "保護者", "旧住所", "区分",
          "続柄", "外国人", "異動日", "人数", "出席率", "年月", "ひとり親", "基準日", "学校", "備考", "備考"]
WEIRD = ["", " ", "\u3000", '"', "a\\b", "x\ny", "\x1f", "\t", "{0}", "%s"]
POOLS: dict[str, list[str]] = {
    "番号": ["1000000001", "1000000002", " 1000000003 ", "１０００", "", "10\x1f01"],
    "枝番": ["1", "2", "", "０１"],
    "世帯": ["200001", "２００００２", "", " 200003"],
    "氏名": ["山田　太郎", "山﨑 一郎", "髙橋", "ﾔﾏﾀﾞ", "", "  ", "𠮷田　花子"],
    "姓": ["山田", "", "山崎"],
    "カナ": ["ヤマダ　タロウ", "ﾀｶﾊｼ ﾀﾛｳ", "やまだ", "", "ヴァイオリン"],
    "生年月日": ["平成30年4月1日", "2018-04-01", "R6.2.30", "令和6年2月30日", "S60.1.2", "", "昨日", "2018/4/1"],
    "性別": ["男", "女", "不明", "", "男 "],
    "住所": ["つなぐ市中央町1丁目2番3号", "つなぐ市中央町一丁目二番三号 メゾン201", "", "〒123-4567 つなぐ市"],
    "郵便": ["123-4567", "1234567", "12-34567", "", "〒１２３－４５６７", "abc"],
    "保護者": ["山田　一郎", "", "髙橋"],
    "旧住所": ["", "つなぐ市北町3-4"],
    "区分": ["住民", "転出", "死亡", "失踪", "", "住民 ", "不明"],
    "続柄": ["子", "世帯主", "養子", "", "子 "],
    "外国人": ["外国人", "日本人", "", "不明"],
    "異動日": ["", "R6.4.1", "2024-04-01", "2024-02-30", "いつか"],
    "人数": ["", "3", "３", "2.5", "x", "1,000"],
    "出席率": ["", "87.5", "九十", "100"],
    "年月": ["2026-04", "2026/4", "", "2026-13", "nope"],
    "ひとり親": ["", "有", "x"],
    "基準日": ["2026-04-01", "", "R8.4.1", "bad"],
    "学校": ["S001", "", "Ｓ００２"],
    "備考": ["", "メモ", *WEIRD],
}


def _normal(value: Any) -> Any:
    """NaN (the column-wise writer's NULL) as None, so that results compare."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _encoded_observations(row: ConvertedRow) -> list[tuple[Any, ...]]:
    return [tuple(_normal(sqlite_value(v)) for v in (o.item_id, o.value_text, o.value_num, o.value_bool, o.observed_on))
            for o in row.observations]


def _by_rows(rows: list[tuple[int, list[str]]], converter: RowConverter) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for number, cells in rows:
        result = converter.convert(cells)
        if isinstance(result, ConvertedRow):
            identity = {k: _normal(sqlite_value(result.identity.get(k))) for k in IDENTITY_COLUMNS}
            out.append(("loaded", number, result.local_id, result.raw, identity, _encoded_observations(result)))
        else:
            out.append(("quarantined", number, [(p.column, p.value, p.rule) for p in result], "\t".join(cells),
                        converter.readable_local_id(cells, result)))
    return out


def _by_columns(rows: list[tuple[int, list[str]]], converter: RowConverter, chunk: int) -> list[tuple[Any, ...]]:
    columns = ColumnConverter(converter, sqlite_value)
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), chunk):
        part: ConvertedRows = columns.convert(rows[start : start + chunk])
        for i, number in enumerate(part.row_numbers):
            identity = {k: _normal(part.identity[k][i]) if k in part.identity else None for k in IDENTITY_COLUMNS}
            observations = [tuple(_normal(v) for v in o) for o in part.observations[i] if o is not None]
            out.append(("loaded", number, part.local_ids[i], part.raws[i], identity, observations))
        out.extend(("quarantined", number, problems, raw, key) for number, problems, raw, key in part.quarantined)
    return sorted(out, key=lambda r: r[1])


def _row(draw: st.DrawFn) -> list[str]:
    cells = [draw(st.sampled_from(POOLS[name])) for name in HEADER]
    shape = draw(st.sampled_from(["full", "full", "full", "short", "blank extra", "extra"]))
    if shape == "short":
        return cells[: draw(st.integers(min_value=0, max_value=len(cells) - 1))]
    if shape == "blank extra":
        return [*cells, "", " "]
    if shape == "extra":
        return [*cells, "余り"]
    return cells


@st.composite
def _rows(draw: st.DrawFn) -> list[tuple[int, list[str]]]:
    count = draw(st.integers(min_value=1, max_value=40))
    return [(n, _row(draw)) for n in range(1, count + 1)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows(), chunk=st.sampled_from([1, 3, 50]))
def test_column_wise_conversion_equals_row_conversion(rows: list[tuple[int, list[str]]], chunk: int) -> None:
    converter = RowConverter(MANIFEST, default_catalog(), HEADER, EXPORT_DATE)
    assert _by_columns(rows, converter, chunk) == _by_rows(rows, converter)


def test_every_feature_is_exercised() -> None:
    """The pools above reach loaded rows and each kind of problem (so the property test means something)."""
    converter = RowConverter(MANIFEST, default_catalog(), HEADER, EXPORT_DATE)
    good = [POOLS[name][0] for name in HEADER]
    good[HEADER.index("区分")] = "転出"
    good[HEADER.index("異動日")] = "R6.4.1"
    good[HEADER.index("ひとり親")] = "有"
    # Row 3 is short: the row converter judges it (and loads it: its missing cells read as blank).
    rows = [(1, good), (2, [*good[:6], "令和6年2月30日", *good[7:]]), (3, good[:5])]
    by_columns = _by_columns(rows, converter, 10)
    assert by_columns == _by_rows(rows, converter)
    assert [r[0] for r in by_columns] == ["loaded", "quarantined", "loaded"]
    assert by_columns[1][2] == [("生年月日", "令和6年2月30日", by_columns[1][2][0][2])]
    assert by_columns[1][4] == f"{good[0]}:{good[1]}"  # the quarantined row's key (two columns), readable
    loaded = by_columns[0]
    assert {o[0] for o in loaded[5]} >= {"move_out_date", "single_parent_household", "household_size"}
    assert loaded[4]["family_key"] == "山田" and loaded[4]["birth_date"] == "2018-04-01"


def _tables(vault: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with sqlite3.connect(vault) as conn:
        for table in ("loads", "records", "observations", "quarantine"):
            columns = [r[1] for r in conn.execute(f"pragma table_info({table})") if r[1] != "loaded_at"]
            select = ", ".join(f"{c}, typeof({c})" for c in columns)
            found[table] = conn.execute(f"select {select} from {table} order by 1").fetchall()
        found["schema"] = conn.execute("select type, name, tbl_name, sql from sqlite_master order by name").fetchall()
    return found


@pytest.mark.slow
def test_both_paths_fill_the_vaults_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tsunagu.synth import generate
    from tsunagu.vault.store import LoadWriter

    generate(1500, 7, "default", tmp_path / "synth")
    # Also exercise the index rebuild of large loads at this size.
    monkeypatch.setattr(LoadWriter, "rebuild_indexes_from", 2_000)
    for columnar in (True, False):
        ingestor = Ingestor(packaged_manifests(), tmp_path / f"vaults-{columnar}",
                            f"sqlite:///{tmp_path / 'hub.sqlite3'}", columnar=columnar)
        report = ingestor.ingest([tmp_path / "synth" / "exports"])
        ingestor.close()
        assert report.refused == [] and sum(s.quarantined for s in report.sources()) > 0
    vaults = sorted(p.name for p in (tmp_path / "vaults-True").glob("*.sqlite3"))
    assert vaults == sorted(p.name for p in (tmp_path / "vaults-False").glob("*.sqlite3"))
    assert len(vaults) > 5
    for name in vaults:
        by_columns, by_rows = _tables(tmp_path / "vaults-True" / name), _tables(tmp_path / "vaults-False" / name)
        for table in by_rows:
            assert by_columns[table] == by_rows[table], f"{name}: {table}"
