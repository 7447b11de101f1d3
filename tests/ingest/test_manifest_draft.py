"""`tsunagu manifest draft` and `tsunagu manifest check` on hand-made exports nobody has described yet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tsunagu.catalog.manifest import load_manifest
from tsunagu.cli import app
from tsunagu.errors import ExitCode

runner = CliRunner()

NAMES = ("髙橋　太郎", "佐藤　花子", "鈴木　一郎", "田中　美咲")


def _write(path: Path, lines: list[str], encoding: str, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.fixture
def register(tmp_path: Path) -> Path:
    """A CP932 register export with a title line, Excel serial birth dates and a column no item takes."""
    rows = [
        f"{1000000001 + i},{200001 + i // 2},{name},タカハシ　タロウ,{43466 + i},{'男' if i % 2 == 0 else '女'},"
        f"つなぐ市中央町1-{i + 1},{562 + i:03d}-0001,{3 + i % 2},,特記なし"
        for i, name in enumerate(NAMES)
    ]
    return _write(tmp_path / "exports" / "town_jumin_20261031.csv", [
        "住民基本台帳 抽出結果（令和8年10月31日現在）",
        "宛名番号,世帯番号,氏名,フリガナ,生年月日,性別,住所,〒,世帯人員,転入日,備考",
        *rows,
    ], "cp932")


def _draft(path: Path) -> tuple[str, dict[str, object]]:
    result = runner.invoke(app, ["manifest", "draft", str(path)])
    assert result.exit_code == 0, result.output
    return result.stdout, yaml.safe_load(result.stdout)


def test_a_draft_maps_columns_by_name_and_shape_with_confidence(register: Path) -> None:
    text, proposal = _draft(register)
    assert proposal["encoding"] == "cp932" and proposal["header_row"] == 2
    assert proposal["files"] == "town_jumin_*.csv" and proposal["department"] == "resident_registry"
    assert proposal["local_id"] == ["宛名番号"]
    assert proposal["identifiers"] == {
        "aza_number": "宛名番号", "household_number": "世帯番号", "full_name": "氏名", "full_reading": "フリガナ",
        "birth_date": "生年月日", "sex": "性別", "address": "住所", "postal_code": "〒",
    }
    items = {m["item"]: m["column"] for m in proposal["items"]}  # type: ignore[attr-defined]
    assert items == {"household_size": "世帯人員", "move_in_date": "転入日"}
    assert "確度: 高" in text and "対応が見つからない列「備考」" in text
    for name in NAMES:  # shapes and counts only: no value of the file in the proposal
        assert name not in text and name.split("　")[0] not in text
    assert "1000000001" not in text


def test_an_english_export_is_drafted_by_its_english_names(tmp_path: Path) -> None:
    path = _write(tmp_path / "febrl_a_20261031.csv", [
        "rec_id,given_name,surname,street_number,address_1,suburb,postcode,state,date_of_birth",
        "rec-1-org,michaela,neumann,8,stanley street,miami,4223,nsw,19151111",
        "rec-2-org,courtney,painter,12,pinkerton circuit,bega flats,4560,vic,19161214",
    ], "utf-8", bom=True)
    _, proposal = _draft(path)
    assert proposal["local_id"] == ["rec_id"] and proposal["encoding"] == "utf-8"
    identifiers = proposal["identifiers"]
    assert identifiers["given_name"] == "given_name" and identifiers["family_name"] == "surname"  # type: ignore[index]
    assert identifiers["birth_date"] == "date_of_birth" and identifiers["address"] == "address_1"  # type: ignore[index]
    assert identifiers["postal_code"] == "postcode"  # type: ignore[index]


def test_a_draft_can_be_checked_as_it_is(tmp_path: Path, register: Path) -> None:
    text, _ = _draft(register)
    manifest = tmp_path / "town_jumin.yaml"
    manifest.write_text(text, encoding="utf-8")
    load_manifest(manifest)  # a valid manifest, placeholders and all
    result = runner.invoke(app, ["manifest", "check", str(register), "--manifest", str(manifest), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["status"], report["rows_in"], report["would_load"], report["would_quarantine"]) == ("ok", 4, 4, 0)
    assert any("要記入" in w for w in report["warnings"])
    assert not (tmp_path / "vaults").exists()


def test_check_counts_what_would_be_flagged_or_quarantined_without_values(tmp_path: Path, register: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(_draft(register)[0], encoding="utf-8")
    bad = _write(tmp_path / "town_jumin_20261130.csv", [
        "住民基本台帳 抽出結果",
        "宛名番号,世帯番号,氏名,フリガナ,生年月日,性別,住所,〒,世帯人員,転入日,備考",
        "1000000001,200001,髙橋　太郎,タカハシ　タロウ,令和9年2月30日,男,町,562-0001,3,,",  # impossible birth date
        "1000000002,200001,髙橋　花子,タカハシ　ハナコ,2019-01-01,女,町,562-0001,-2,,",  # negative household size
        "1000000003,200002,佐藤　一郎,サトウ　イチロウ,2019-01-01,男,町,562-0001,3,2030-01-01,",  # moved in later
    ], "cp932")
    result = runner.invoke(app, ["manifest", "check", str(bad), "--manifest", str(manifest), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["would_load"], report["would_flag"], report["would_quarantine"]) == (2, 2, 1)
    outcomes = {(p["column"], p["outcome"], tuple(p["first_rows"])) for p in report["problems"]}
    assert outcomes == {("生年月日", "quarantined", (1,)), ("世帯人員", "flagged", (2,)), ("転入日", "flagged", (3,))}
    assert "令和9年2月30日" not in result.stdout and "髙橋" not in result.stdout
    shown = runner.invoke(app, ["manifest", "check", str(bad), "--manifest", str(manifest)])
    assert "保留" in shown.output and "要確認" in shown.output


@pytest.mark.parametrize("lines, status", [
    (["宛名番号,宛名番号,氏名", "1,2,髙橋"], "refused"),
    (["宛名番号,世帯番号,氏名,フリガナ,生年月日,性別,住所,〒,世帯人員,転入日,備考"], "held"),
], ids=["duplicated-column", "header-only"])
def test_check_exits_non_zero_for_a_file_ingest_would_not_apply(
    tmp_path: Path, register: Path, lines: list[str], status: str
) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(_draft(register)[0], encoding="utf-8")
    path = _write(tmp_path / "town_jumin_20261130.csv", ["住民基本台帳 抽出結果", *lines], "cp932")
    result = runner.invoke(app, ["manifest", "check", str(path), "--manifest", str(manifest), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == status


def test_draft_refuses_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "x_20261031.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(300))
    result = runner.invoke(app, ["manifest", "draft", str(path)])
    assert result.exit_code == ExitCode.INPUT and "ZIP" in result.output


def test_a_title_and_a_blank_line_above_the_header_count_as_lines(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["保育所在籍一覧"])
    sheet.append([])
    sheet.append(["宛名番号", "施設名", "入所日", "出席率"])
    sheet.append(["1000000001", "つなぐ保育園", 45383, 92.5])  # the date as Excel wrote it
    sheet.append(["1000000002", "つなぐ保育園", 45384, 88])
    path = tmp_path / "town_hoiku_20261031.xlsx"
    book.save(path)
    text, proposal = _draft(path)
    assert proposal["header_row"] == 3 and proposal["format"] == "xlsx"
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["manifest", "check", str(path), "--manifest", str(manifest), "--json"])
    report = json.loads(result.stdout)
    assert (result.exit_code, report["would_load"], report["would_flag"]) == (0, 2, 0), result.output


def test_a_draft_warns_of_a_duplicated_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "x_20261031.csv", ["宛名番号,氏名,宛名番号", "1000000001,髙橋　太郎,1000000002"], "utf-8")
    text, _ = _draft(path)
    assert "「宛名番号」が重複" in text


@pytest.mark.parametrize("column", ["組", "学級", "クラス", "Class"])
def test_a_roster_class_column_is_drafted_as_the_class_item(tmp_path: Path, column: str) -> None:
    path = _write(tmp_path / "school_roster_20261031.csv", [
        f"学校コード,児童生徒番号,氏名,生年月日,{column},欠席日数",
        "B199290110001,20240001,髙橋　太郎,2018-04-01,1組,0",
        "B199290110001,20240002,佐藤　花子,2018-05-01,2組,3",
    ], "utf-8")
    _, proposal = _draft(path)
    items = {m["item"]: m["column"] for m in proposal["items"]}  # type: ignore[attr-defined]
    assert items.get("school_class") == column and proposal["department"] == "schools"
