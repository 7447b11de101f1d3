"""The ingest commands on a municipality's own exports: held snapshots, bad manifests, flagged values."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from support.exports import JUKI_HEADER, juki_row, write_csv
from tsunagu.catalog.manifest import packaged_manifest_dir
from tsunagu.cli import app

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)
    home = tmp_path / "h"
    assert runner.invoke(app, ["init", "--home", str(home), "--name", "箕面市", "--code", "272205"]).exit_code == 0
    return home


def _ingest(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["ingest", *args, "--home", str(home)])
    return result.exit_code, result.output


def _current(home: Path) -> int:
    with sqlite3.connect(home / "vaults" / "resident_registry.sqlite3") as conn:
        return int(conn.execute("select count(*) from records where valid_to is null").fetchone()[0])


def test_a_held_export_exits_non_zero_and_accepting_it_is_audited(tmp_path: Path, home: Path) -> None:
    first = write_csv(tmp_path / "a" / "juki_jumin_20260930.csv", JUKI_HEADER,
                      [juki_row(f"100000000{i}") for i in range(1, 7)])
    assert _ingest(home, str(first))[0] == 0
    empty = write_csv(tmp_path / "b" / "juki_jumin_20261031.csv", JUKI_HEADER, [])
    code, out = _ingest(home, str(empty))
    assert code == 1
    assert "取込保留" in out and "--accept-drop" in out and _current(home) == 6
    code, out = _ingest(home, str(empty), "--json")
    held = json.loads(out)["held"]
    assert code == 1 and [h["source"] for h in held] == ["juki_jumin"] and held[0]["current"] == "6"

    code, out = _ingest(home, str(empty), "--accept-drop", "--reason", "転出者の一括削除を確認済み")
    assert code == 0, out
    assert _current(home) == 0
    with sqlite3.connect(home / "hub.sqlite3") as conn:
        entries = conn.execute("select action, reason from audit_entries where action = 'sources.accept_drop'").fetchall()
    assert len(entries) == 1
    assert "juki_jumin_20261031.csv" in entries[0][1] and "6件→0件" in entries[0][1]
    assert "転出者の一括削除を確認済み" in entries[0][1]
    verified = runner.invoke(app, ["audit", "verify", "--home", str(home)])
    assert verified.exit_code == 0, verified.output


def test_one_bad_manifest_refuses_only_its_own_source(tmp_path: Path, home: Path) -> None:
    own = home / "manifests"
    own.mkdir()
    for name in ("juki_jumin.yaml", "school_meibo.yaml"):
        shutil.copy(packaged_manifest_dir() / name, own / name)
    broken = (own / "school_meibo.yaml").read_text("utf-8").replace("department: schools", "department: gakko")
    (own / "school_meibo.yaml").write_text(broken, "utf-8")
    exports = tmp_path / "exports"
    write_csv(exports / "juki_jumin_20261031.csv", JUKI_HEADER, [juki_row("1000000001")])
    write_csv(exports / "school_S001_meibo_20261031.csv", "学校コード,児童生徒番号", ["S001,0001"], "utf-8")
    code, out = _ingest(home, str(exports), "--json")
    assert code == 1
    report = json.loads(out)
    assert [s["source"] for s in report["sources"]] == ["juki_jumin"] and _current(home) == 1
    assert len(report["manifest_problems"]) == 1 and "gakko" in report["manifest_problems"][0]["reason"]
    assert [Path(r["file"]).name for r in report["refused"]] == ["school_S001_meibo_20261031.csv"]
    assert "school_meibo.yaml" in report["refused"][0]["reason"]
    code, out = _ingest(home, str(exports))
    assert code == 1 and "取込定義の誤り" in out


def test_flagged_values_are_listed_and_shown(tmp_path: Path, home: Path) -> None:
    header = "宛名番号,母宛名番号,妊娠届出週数,4か月児健診,1歳6か月児健診,3歳児健診,新生児訪問,EPDS得点,記録日"
    path = write_csv(tmp_path / "boshi_hoken_20261031.csv", header, [
        "1000000001,1000000009,10,受診,,,訪問済,45,令和7年4月1日",  # EPDS is 0–30
        "1000000002,1000000008,-3,,,,,,令和7年4月1日",  # a negative week
    ])
    code, out = _ingest(home, str(path), "--json")
    assert code == 0, out
    assert json.loads(out)["sources"][0]["flagged"] == 2
    listed = json.loads(runner.invoke(app, ["quarantine", "list", "--home", str(home), "--json"]).output)
    assert [(s["rows"], s["flagged_rows"]) for s in listed["quarantine"]] == [(0, 2)]
    shown = runner.invoke(app, ["quarantine", "flagged", "boshi_hoken", "--home", str(home), "--json"])
    entries = json.loads(shown.output)["entries"]
    assert [(e["row_number"], e["column_name"]) for e in entries] == [(1, "EPDS得点"), (2, "妊娠届出週数")]
    assert "30を超える" in entries[0]["rule"] and "0未満" in entries[1]["rule"]
    open_rows = runner.invoke(app, ["quarantine", "show", "boshi_hoken", "--home", str(home)])
    assert "保留行はありません" in open_rows.output
    exported = tmp_path / "flagged.csv"
    result = runner.invoke(app, ["quarantine", "export", "--flagged", "--out", str(exported), "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert exported.read_text(encoding="utf-8-sig").count("boshi_hoken_20261031.csv") == 2
