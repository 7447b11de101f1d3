"""benchmarks/bench_daily.py's next day's exports: dated a day later, every untouched line kept
byte for byte, and every change of the register carried by its 異動 row and by the departments."""

from __future__ import annotations

import csv
import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
BANNER = "※合成データ（架空の自治体 つなぐ市）SYNTHETIC DATA ― not real persons"
REGISTER_HEADER = "宛名番号,世帯番号,氏名,カナ氏名,生年月日,性別,続柄,住所,郵便番号,外国人区分,住民区分,異動日"


@pytest.fixture(scope="module")
def daily() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_daily", ROOT / "benchmarks" / "bench_daily.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_daily"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _register_rows(households: int) -> list[str]:
    rows = []
    for h in range(households):
        home = f"つなぐ市本町{h + 1}丁目1番1号"
        for n, (role, given, kana) in enumerate((("世帯主", "剛", "ﾂﾖｼ"), ("妻", "典子", "ﾉﾘｺ"), ("子", "紗希", "ｻｷ"))):
            number = 1_000_000_000 + h * 10 + n
            rows.append(f"{number},{9_000_000_000 + h},高野　{given},ﾀｶﾉ {kana},平成26年1月17日,女,{role},{home},"
                        f"799-2481,日本人,住民,平成26年1月17日")
    return rows


def _write(folder: Path) -> dict[str, bytes]:
    register = [BANNER, REGISTER_HEADER, *_register_rows(60), '9,9,"壊れた,行",x']
    files = {
        "juki_jumin_20261031.csv": ("\r\n".join(register) + "\r\n").encode("cp932"),
        "juki_idou_20261031.csv": ("\r\n".join([BANNER, "宛名番号,異動事由,異動日,異動前住所,異動後住所,異動前氏名"]) + "\r\n")
        .encode("cp932"),
        "gakureibo_20261031.csv": ("\r\n".join([BANNER, "宛名番号,氏名,カナ氏名,住所,学校コード",
                                                *[f"{1_000_000_002 + h * 10},高野　紗希,タカノ　サキ,つなぐ市本町{h + 1}丁目1番1号,B1"
                                                  for h in range(60)]]) + "\r\n").encode("cp932"),
        "school_B1_kiroku_20261031.csv": ("\n".join([BANNER, "学校コード,児童生徒番号,年月,欠席日数,教材費未納,SSW・SC関与",
                                                     *[f"B1,{2021_0000 + p},2026-10,0,無," for p in range(400)]]) + "\n")
        .encode("utf-8"),
        "hoiku_20261031.xlsx": b"PK\x03\x04 not really a workbook",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def _rows(data: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))[2:]


def test_the_next_day_changes_what_a_day_changes_and_keeps_the_rest(daily: ModuleType, tmp_path: Path) -> None:
    exports, out = tmp_path / "exports", tmp_path / "next"
    exports.mkdir()
    before = _write(exports)
    made = daily.next_day_exports(exports, out, 0.05, seed=3)
    assert made["export_date"] == "2026-11-01"
    assert sorted(p.name for p in out.iterdir()) == sorted(n.replace("20261031", "20261101") for n in before)
    assert (out / "hoiku_20261101.xlsx").read_bytes() == before["hoiku_20261031.xlsx"]

    old_lines = before["juki_jumin_20261031.csv"].decode("cp932").split("\r\n")
    new_text = (out / "juki_jumin_20261101.csv").read_bytes().decode("cp932")
    new_lines = new_text.split("\r\n")
    assert new_lines[:2] == old_lines[:2] and '9,9,"壊れた,行",x' in new_lines  # the broken row stays broken
    kept = [line for line in old_lines if line in new_lines]
    changed = [line for line in new_lines if line and line not in old_lines]
    assert len(kept) + len(changed) >= len(old_lines) - 1 and changed
    assert made["rows_changed_or_added"] > 0

    events = _rows((out / "juki_idou_20261101.csv").read_bytes(), "cp932")
    assert len(events) == made["register_events"] > 0
    assert {e[1] for e in events} <= {"転居", "転出", "氏変更", "出生"}
    register = {r[0]: r for r in _rows(new_text.encode("cp932"), "cp932") if len(r) == 12}
    assert all(e[0] in register for e in events)  # every 異動 names a person of the register
    births = [e[0] for e in events if e[1] == "出生"]
    assert len(set(births)) == len(births) and not set(births) & {line.split(",")[0] for line in old_lines}
    for e in events:
        if e[1] == "転居":
            assert register[e[0]][7] == e[4] and register[e[0]][11] == "令和8年11月1日"

    # 学齢簿 carries the register's new address and surname of the same 宛名番号.
    for row in _rows((out / "gakureibo_20261101.csv").read_bytes(), "cp932"):
        person = register[row[0]]
        assert row[3] == person[7]
        assert row[1] == person[2]

    attendance = (out / "school_B1_kiroku_20261101.csv").read_bytes().decode("utf-8")
    assert "\r" not in attendance  # written with the file's own line ends
    months = [r[2] for r in _rows(attendance.encode("utf-8"), "utf-8")]
    assert months.count("2026-11") == 10 and months.count("2026-10") == 400


def test_the_same_seed_makes_the_same_day(daily: ModuleType, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    _write(exports)
    daily.next_day_exports(exports, tmp_path / "a", 0.05, seed=11)
    daily.next_day_exports(exports, tmp_path / "b", 0.05, seed=11)
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()
