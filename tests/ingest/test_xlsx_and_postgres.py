from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from support.exports import JUKI_HEADER, juki_row, write_csv
from support.postgres import fresh_database
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.cli import app
from tsunagu.ingest.load import Ingestor

runner = CliRunner()


def _hoiku(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["※合成データ（架空の自治体 つなぐ市）SYNTHETIC DATA"])
    sheet.append(["宛名番号", "施設名", "入所日", "出席率"])
    sheet.append(["1000000001", "つなぐ保育園", datetime(2025, 4, 1), 87.5])
    sheet.append(["1000000002", "つなぐ保育園", "令和7年4月1日", "九十"])
    sheet.append([None, None, None, None])
    book.save(path)
    return path


def test_excel_rows_load_and_bad_cells_are_flagged(tmp_path: Path) -> None:
    path = _hoiku(tmp_path / "hoiku_20261031.xlsx")
    ingestor = Ingestor(packaged_manifests(), tmp_path / "v", f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    result = ingestor.ingest_file(path)
    ingestor.close()
    # 出席率「九十」is not a number: the child is loaded without it, and the cell is flagged
    assert (result.rows_in, result.loaded, result.quarantined, result.flagged) == (2, 2, 0, 1)


@pytest.mark.postgres
def test_vaults_are_schemas_on_postgres(tmp_path: Path, pg_url: str) -> None:
    path = write_csv(tmp_path / "juki_jumin_20261031.csv", JUKI_HEADER,
                     [juki_row("1000000001"), juki_row("1000000002", birth="令和6年2月30日")])
    ingestor = Ingestor(packaged_manifests(), tmp_path / "v", pg_url)
    first = ingestor.ingest_file(path)
    again = ingestor.ingest_file(path)
    ingestor.close()
    assert (first.loaded, first.quarantined, again.already_loaded) == (1, 1, True)
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        count = conn.execute(text("select count(*) from vault_resident_registry.records")).scalar_one()
        birth = conn.execute(text("select birth_date from vault_resident_registry.records")).scalar_one()
    engine.dispose()
    assert (count, birth) == (1, date(2018, 4, 1))
    assert not (tmp_path / "v").exists()


def test_ingest_and_quarantine_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)
    home = tmp_path / "h"
    assert runner.invoke(app, ["init", "--home", str(home), "--name", "箕面市", "--code", "272205"]).exit_code == 0
    exports = tmp_path / "exports"
    write_csv(exports / "juki_jumin_20261031.csv", JUKI_HEADER,
              [juki_row("1000000001"), juki_row("1000000002", name="=cmd|' /C calc'!A0", birth="R6.2.30")])
    result = runner.invoke(app, ["ingest", str(exports), "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    source = json.loads(result.output)["sources"][0]
    assert source == {"source": "juki_jumin", "department": "resident_registry", "files": 1, "rows_in": 2,
                      "loaded": 1, "quarantined": 1, "already_loaded": False, "flagged": 0}
    listed = json.loads(runner.invoke(app, ["quarantine", "list", "--home", str(home), "--json"]).output)
    assert listed["quarantine"][0]["rows"] == 1
    shown = json.loads(runner.invoke(app, ["quarantine", "show", "juki_jumin", "--home", str(home), "--json"]).output)
    assert shown["entries"][0]["column_name"] == "生年月日"
    out = tmp_path / "q.csv"
    assert runner.invoke(app, ["quarantine", "export", "--out", str(out), "--home", str(home)]).exit_code == 0
    exported = out.read_text(encoding="utf-8-sig")
    assert "R6.2.30" in exported
    assert "\t=cmd" in exported  # inside the raw row, the dangerous text is not at a cell start
    unknown = runner.invoke(app, ["ingest", str(tmp_path / "q.csv"), "--home", str(home)])
    assert unknown.exit_code == 1
    assert "取込定義" in unknown.output


def test_commands_refuse_an_uninitialised_home(tmp_path: Path) -> None:
    result = runner.invoke(app, ["quarantine", "list", "--home", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "tsunagu init" in result.output


@pytest.mark.postgres
def test_an_ingest_leaves_the_planner_statistics_of_what_it_loaded(tmp_path: Path) -> None:
    # Without them (autovacuum off, or not yet run) a child page's record lookups scanned every
    # current record of the source; -1 is PostgreSQL's "never analysed". A database of its own: the
    # session's (pg_url) has other tests' vaults.
    write_csv(tmp_path / "exports" / "juki_jumin_20261031.csv", JUKI_HEADER,
              [juki_row("1000000001"), juki_row("1000000002"), juki_row("1000000003", birth="令和6年2月30日")])
    with fresh_database("tsunagu_stats") as url:
        ingestor = Ingestor(packaged_manifests(), tmp_path / "v", url)
        report = ingestor.ingest([tmp_path / "exports"])
        ingestor.close()
        engine = create_engine(url)
        with engine.connect() as conn:
            tuples = {name: conn.execute(text(f"select reltuples from pg_class where oid = "
                                              f"'vault_resident_registry.{name}'::regclass")).scalar_one()
                      for name in ("loads", "records", "quarantine")}
        engine.dispose()
    assert report.files[0].loaded == 2
    assert tuples == {"loads": 1, "records": 2, "quarantine": 1}
