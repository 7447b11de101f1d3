"""Structure, determinism and the record ↔ person truth of a small synthetic municipality."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from tsunagu.synth import SOURCES, SynthSummary, generate

CHILDREN = 1500
SEED = 20261031
PREAMBLE = "※合成データ（架空の自治体 つなぐ市）SYNTHETIC DATA"

HEADERS: dict[str, list[str]] = {
    "juki_jumin": [
        "宛名番号",
        "世帯番号",
        "氏名",
        "カナ氏名",
        "生年月日",
        "性別",
        "続柄",
        "住所",
        "郵便番号",
        "外国人区分",
        "住民区分",
        "異動日",
    ],
    "juki_idou": ["宛名番号", "異動事由", "異動日", "異動前住所", "異動後住所", "異動前氏名"],
    "zeimu_kazei": ["宛名番号", "世帯番号", "年度", "課税区分", "合計所得金額"],
    "seiho_jukyu": ["ケース番号", "宛名番号", "氏名", "生年月日", "保護開始日", "保護廃止日"],
    "jifu_teate": ["受給者宛名番号", "児童宛名番号", "児童氏名", "認定日", "支給状況"],
    "jidou_teate": ["児童宛名番号", "受給者宛名番号", "受給状況"],
    "shogai": ["宛名番号", "手帳種別", "障害児通所", "交付日"],
    "kaigo": ["宛名番号", "世帯番号", "要介護度", "認定日"],
    "boshi_hoken": [
        "宛名番号",
        "母宛名番号",
        "妊娠届出週数",
        "4か月児健診",
        "1歳6か月児健診",
        "3歳児健診",
        "新生児訪問",
        "EPDS得点",
        "記録日",
    ],
    "yobou_sesshu": ["宛名番号", "未接種数", "基準日"],
    "hoiku": ["宛名番号", "施設名", "入所日", "出席率"],
    "gakureibo": ["宛名番号", "氏名", "カナ氏名", "生年月日", "性別", "住所", "学校コード", "学年", "保護者氏名"],
    "shugaku_enjo": ["宛名番号", "認定区分", "認定日"],
    "school_meibo": [
        "学校コード",
        "児童生徒番号",
        "氏名",
        "ふりがな",
        "生年月日",
        "性別",
        "住所",
        "保護者氏名",
        "保護者ふりがな",
        "学年",
        "組",
    ],
    "school_kiroku": [
        "学校コード",
        "児童生徒番号",
        "年月",
        "欠席日数",
        "遅刻回数",
        "早退回数",
        "保健室来室回数",
        "給食費滞納月数",
        "教材費未納",
        "SSW・SC関与",
    ],
    "school_chosa": [
        "学校コード",
        "児童生徒番号",
        "年度",
        "学力調査偏差値",
        "非認知能力調査得点",
        "未処置歯数",
        "いじめアンケート訴え",
    ],
    "kokoro_tenki": ["学校コード", "児童生徒番号", "日付", "天気"],
    "kodomo_center": [
        "相談番号",
        "宛名番号",
        "氏名",
        "カナ氏名",
        "生年月日",
        "相談種別",
        "虐待種別",
        "受付日",
        "要対協登録",
        "支援状況",
    ],
    "jisou": [
        "ケース番号",
        "氏名",
        "ふりがな",
        "生年月日",
        "性別",
        "住所",
        "保護者氏名",
        "相談種別",
        "受理日",
        "一時保護",
        "対応状況",
    ],
    "koko_zaiseki": [
        "生徒番号",
        "学校名",
        "氏名",
        "ふりがな",
        "生年月日",
        "性別",
        "住所",
        "保護者氏名",
        "学年",
        "入学日",
        "在籍状況",
        "退学日",
        "就学支援金",
    ],
    "koko_shusseki": ["生徒番号", "年月", "欠席日数"],
}
KEYS = {
    "jifu_teate": "児童宛名番号",
    "jidou_teate": "児童宛名番号",
    "school_meibo": "児童生徒番号",
    "school_kiroku": "児童生徒番号",
    "school_chosa": "児童生徒番号",
    "kokoro_tenki": "児童生徒番号",
    "kodomo_center": "相談番号",
    "jisou": "ケース番号",
    "koko_zaiseki": "生徒番号",
    "koko_shusseki": "生徒番号",
}
CP932_SOURCES = {
    s
    for s in SOURCES
    if not s.startswith("school_")
    and s not in ("kokoro_tenki", "jisou", "jidou_teate", "hoiku", "koko_zaiseki", "koko_shusseki")
}


def source_of(file: str) -> str:
    if file.startswith("school_"):
        return "school_" + file.split("_")[2]
    return file.rsplit("_", 1)[0]


def read_export(path: Path) -> tuple[str, list[str], list[list[str]]]:
    """(preamble, header, data rows) of one export, whatever its format and encoding."""
    if path.suffix == ".xlsx":
        wb = load_workbook(path, read_only=True)
        rows = [["" if v is None else str(v) for v in row] for row in wb.active.iter_rows(values_only=True)]
        width = len(rows[1])
        return rows[0][0], rows[1], [(r + [""] * width)[:width] for r in rows[2:]]
    raw = path.read_bytes()
    text = raw.decode("cp932") if source_of(path.name) in CP932_SOURCES else raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0][0], rows[1], rows[2:]


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthSummary, Path, Path]:
    first = tmp_path_factory.mktemp("synth_a")
    second = tmp_path_factory.mktemp("synth_b")
    summary = generate(CHILDREN, SEED, "default", first)
    generate(CHILDREN, SEED, "default", second)
    return summary, first, second


@pytest.fixture(scope="session")
def out(runs: tuple[SynthSummary, Path, Path]) -> Path:
    return runs[1]


@pytest.fixture(scope="session")
def records(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "truth" / "records.csv", infer_schema=False)


@pytest.fixture(scope="session")
def persons(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "truth" / "persons.csv", infer_schema=False)


def test_same_seed_gives_identical_bytes(runs: tuple[SynthSummary, Path, Path]) -> None:
    _, first, second = runs
    files_a = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert files_a == files_b
    assert len(files_a) > 25
    different = [str(f) for f in files_a if (first / f).read_bytes() != (second / f).read_bytes()]
    assert different == []


def test_other_seed_gives_other_people(tmp_path: Path, out: Path) -> None:
    generate(200, SEED + 1, "default", tmp_path)
    generate(200, SEED, "default", tmp_path / "same")
    a = (tmp_path / "exports" / "juki_jumin_20261031.csv").read_bytes()
    b = (tmp_path / "same" / "exports" / "juki_jumin_20261031.csv").read_bytes()
    assert a != b


def test_summary_matches_files(runs: tuple[SynthSummary, Path, Path], records: pl.DataFrame) -> None:
    summary, first, _ = runs
    assert summary.children == CHILDREN
    assert summary.seed == SEED and summary.profile == "default"
    assert str(summary.export_date) == "2026-10-31"
    assert set(summary.rows_per_source) == set(SOURCES)
    assert all(summary.rows_per_source[s] > 0 for s in SOURCES), summary.rows_per_source
    assert sum(summary.rows_per_source.values()) == records.height
    for name in summary.files:
        assert (first / name).is_file()
    assert summary.persons == pl.read_csv(first / "truth" / "persons.csv").height
    manifest = json.loads((first / "truth" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == SEED and manifest["children"] == CHILDREN
    assert manifest["resolved_profile"]["noise"]["defaults"]["broken_row"] == 0.001


def test_every_export_has_preamble_and_exact_header(out: Path) -> None:
    seen = set()
    for path in sorted((out / "exports").iterdir()):
        source = source_of(path.name)
        seen.add(source)
        assert path.name.endswith("_20261031" + path.suffix)
        preamble, header, rows = read_export(path)
        assert preamble.startswith(PREAMBLE), path.name
        assert "not real persons" in preamble
        assert header == HEADERS[source], path.name
        assert all(len(r) == len(header) for r in rows), path.name
    assert seen == set(SOURCES)


def test_formats_and_encodings(out: Path) -> None:
    exports = sorted((out / "exports").iterdir())
    assert {p.suffix for p in exports if source_of(p.name) in ("jidou_teate", "hoiku")} == {".xlsx"}
    for path in exports:
        raw = path.read_bytes()
        if source_of(path.name) in CP932_SOURCES:
            raw.decode("cp932")
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")  # the Japanese preamble alone makes CP932 invalid UTF-8
            assert b"\r\n" in raw[:400]
    school = [p for p in exports if p.name.startswith("school_")]
    bom = [p for p in school if p.read_bytes().startswith(b"\xef\xbb\xbf")]
    assert 0 < len(bom) < len(school)
    wb = load_workbook(next(p for p in exports if p.name.startswith("hoiku")), read_only=True)
    ws = wb.active
    assert str(ws["A1"].value).startswith(PREAMBLE)
    assert ws["A2"].value == "宛名番号"


def test_school_and_prefecture_files_carry_no_municipal_id(out: Path) -> None:
    for path in (out / "exports").iterdir():
        if source_of(path.name) in ("school_meibo", "school_kiroku", "school_chosa", "kokoro_tenki", "jisou"):
            _, header, _ = read_export(path)
            assert not any("宛名" in h for h in header)


def test_records_cover_every_data_row_once(out: Path, records: pl.DataFrame, persons: pl.DataFrame) -> None:
    known = set(persons["person_id"].to_list())
    for path in sorted((out / "exports").iterdir()):
        _, header, rows = read_export(path)
        mine = records.filter(pl.col("file") == path.name)
        assert mine.height == len(rows), path.name
        assert mine["row"].cast(pl.Int64).to_list() == list(range(1, len(rows) + 1)), path.name
        assert mine["source"].unique().to_list() == [source_of(path.name)]
        key_col = header.index(KEYS.get(source_of(path.name), "宛名番号"))
        assert [r[key_col] for r in rows] == [v or "" for v in mine["local_key"].to_list()], path.name
    assert set(records["person_id"].unique().to_list()) <= known
    assert records.select(["file", "row"]).is_duplicated().sum() == 0


def test_municipal_ids_in_records_belong_to_the_true_person(records: pl.DataFrame, persons: pl.DataFrame) -> None:
    by_aza = records.filter(
        pl.col("source").is_in(
            ["juki_jumin", "gakureibo", "boshi_hoken", "yobou_sesshu", "jidou_teate", "shugaku_enjo"]
        )
    ).join(persons.select(["person_id", "aza_number"]), on="person_id")
    assert by_aza.height > 1000
    assert (by_aza["local_key"] == by_aza["aza_number"]).all()


def test_school_numbers_name_one_pupil_per_school(records: pl.DataFrame) -> None:
    school = records.filter(pl.col("source").is_in(["school_meibo", "school_kiroku", "school_chosa"]))
    school = school.with_columns(pl.col("file").str.split("_").list.get(1).alias("code"))
    pairs = school.select(["code", "local_key", "person_id"]).unique()
    assert pairs.select(["code", "local_key"]).is_duplicated().sum() == 0
    roster = set(map(tuple, school.filter(pl.col("source") == "school_meibo").select(["code", "local_key"]).rows()))
    assert set(map(tuple, pairs.select(["code", "local_key"]).rows())) <= roster


def test_children_truth_is_the_resident_population(out: Path, persons: pl.DataFrame) -> None:
    children = pl.read_csv(out / "truth" / "children.csv")
    assert children.height == CHILDREN
    assert children["age"].min() >= 0 and children["age"].max() <= 17
    assert set(children["true_tier"].unique().to_list()) <= {"重点支援", "予防的支援", "見守り", "対象外"}
    joined = children.join(persons, on="person_id")
    assert (joined["in_municipality"] == "1").all() and (joined["role"] == "child").all()
    assert (children.filter(pl.col("needs_support") == 1)["true_tier"].is_in(["重点支援", "予防的支援"])).all()
    # no-mark children exist: in need and known to no support body
    no_mark = children.filter((pl.col("needs_support") == 1) & (pl.col("known_to_support") == 0))
    assert no_mark.height > 0
    assert persons.filter(pl.col("in_municipality") == "0").height > 0


def test_known_to_support_is_visible_in_the_exports(out: Path, records: pl.DataFrame) -> None:
    children = pl.read_csv(out / "truth" / "children.csv")
    centre = set(records.filter(pl.col("source") == "kodomo_center")["person_id"].to_list())
    cgc = set(records.filter(pl.col("source") == "jisou")["person_id"].to_list())
    assert set(children.filter(pl.col("known_centre") == 1)["person_id"].to_list()) <= centre
    assert set(children.filter(pl.col("known_cgc") == 1)["person_id"].to_list()) <= cgc
    kiroku = records.filter(pl.col("source") == "school_kiroku")
    ssw_people = set()
    for path in (out / "exports").glob("school_*_kiroku_*.csv"):
        _, header, rows = read_export(path)
        col = header.index("SSW・SC関与")
        mine = kiroku.filter(pl.col("file") == path.name)["person_id"].to_list()
        ssw_people |= {pid for pid, row in zip(mine, rows, strict=True) if row[col]}
    flagged = set(children.filter(pl.col("known_ssw_sc") == 1)["person_id"].to_list())
    assert flagged and flagged == ssw_people


def test_jisou_includes_children_outside_the_municipality(records: pl.DataFrame, persons: pl.DataFrame) -> None:
    jisou = records.filter(pl.col("source") == "jisou").join(persons, on="person_id")
    assert (jisou["in_municipality"] == "0").sum() > 0
    assert (jisou["aza_number"].fill_null("") == "").sum() > 0  # never registered here


def test_twins_are_distinct_people_with_distinct_names(out: Path, persons: pl.DataFrame) -> None:
    children = pl.read_csv(out / "truth" / "children.csv").filter(pl.col("twin") == 1)
    twins = children.join(persons, on="person_id")
    assert twins.height >= 2
    pairs = twins.group_by(["household_id", "birth_date"]).agg(pl.col("given_name").n_unique(), pl.len())
    assert (pairs["len"] >= 2).any()
    assert (pairs["given_name"] == pairs["len"]).all()


def test_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    """No dependence on set/dict ordering or the clock: two fresh interpreters agree byte for byte."""
    code = "import sys; from pathlib import Path; from tsunagu.synth import generate; generate(400, 11, 'noisy', Path(sys.argv[1]))"
    for name, hash_seed in (("a", "1"), ("b", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True, env=env, timeout=120)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_small_town_profile_generates(tmp_path: Path) -> None:
    summary = generate(600, 3, "small-town", tmp_path)
    assert summary.profile == "small-town" and summary.children == 600
    manifest = json.loads((tmp_path / "truth" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["resolved_profile"]["households"]["three_generation_rate"] == 0.25
    assert 2 <= len(manifest["schools"]) <= 8
