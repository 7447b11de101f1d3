"""``tsunagu stats`` on the small home: files, strict programmes, roles; exports that spreadsheets cannot run;
the demo's recorded work."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from tsunagu.cli import app
from tsunagu.errors import ExitCode
from tsunagu.privacy import AuditEntry
from tsunagu.stats.demo import seed_demo_work
from tsunagu.stats.export import csv_text, workbook_bytes
from tsunagu.stats.report import Report
from tsunagu.stats.tables import publish
from tsunagu.work.models import Referral, Review
from work.builders import Home

runner = CliRunner()


def test_the_command_writes_csv_excel_and_pdf(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(app, ["stats", "--home", str(home.settings.home), "--k", "2", "--csv", str(out / "s.csv"),
                                 "--xlsx", str(out / "s.xlsx"), "--pdf", str(out / "s.pdf")])
    assert result.exit_code == 0, result.output
    assert (out / "s.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (out / "s.pdf").read_bytes().startswith(b"%PDF")
    assert "説明" in load_workbook(out / "s.xlsx").sheetnames
    with home.factory() as session:
        reads = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "statistics.read", AuditEntry.role == "statistics_officer"))
    assert reads == 1


def test_a_broken_programmes_file_names_its_line_and_a_missing_one_is_refused(home: Home, tmp_path: Path) -> None:
    bad = tmp_path / "programmes.yaml"
    bad.write_text("fiscal_year: 2026\nprogrammes:\n  - id: a\n    name: 食堂\n    yearly_cost: 十万\n    resources: [x]\n",
                   encoding="utf-8")
    result = runner.invoke(app, ["stats", "--home", str(home.settings.home), "--programmes", str(bad)])
    # A programmes file is configuration: its errors exit with ExitCode.CONFIG.
    assert result.exit_code == ExitCode.CONFIG and "programmes.yaml:5" in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["stats", "--home", str(home.settings.home), "--programmes", str(tmp_path / "no.yaml")])
    assert missing.exit_code == ExitCode.CONFIG and "事業・予算ファイルがありません" in missing.output


def test_k_below_two_and_roles_outside_the_back_office_are_refused(home: Home) -> None:
    assert runner.invoke(app, ["stats", "--home", str(home.settings.home), "--k", "1"]).exit_code != 0
    result = runner.invoke(app, ["stats", "--home", str(home.settings.home), "--as-role", "teacher"])
    assert result.exit_code == 1 and "--as-role" in result.output


def _report_with(table_label: str) -> Report:
    table = publish("t", "表", "行", "列", [table_label, "通常"], ["a", "b"], [[12, 15], [20, 30]], k=10)
    return Report(10, [], None, "法", "理由", {"aggregates": [table]})


def test_exports_escape_what_a_spreadsheet_would_run() -> None:
    report = _report_with("=HYPERLINK(\"http://x\")")
    rows = list(csv.reader(io.StringIO(csv_text(report))))
    assert ["'=HYPERLINK(\"http://x\")", "12", "15", "27"] in rows
    sheet = load_workbook(io.BytesIO(workbook_bytes(report)))["01 行"]
    labels = [sheet.cell(r, 1).value for r in range(1, 8)]
    assert "'=HYPERLINK(\"http://x\")" in labels
    assert all(sheet.cell(r, 1).data_type != "f" for r in range(1, 8))


def test_the_demo_records_its_work_through_the_services_once(home: Home) -> None:
    with home.factory.begin() as session:
        recorded = seed_demo_work(session, home.settings.home, home.cipher)
    assert recorded == 4  # the small home lists four children; every one is reviewed
    with home.factory.begin() as session:
        assert seed_demo_work(session, home.settings.home, home.cipher) == 0  # not twice
    with home.factory() as session:
        reviews = session.scalar(select(func.count()).select_from(Review)) or 0
        referrals = session.scalar(select(func.count()).select_from(Referral)) or 0
        written = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "review.write"))
    assert reviews == 4 and written == 4 and referrals >= 1
    programmes = (home.settings.home / "budget" / "programmes.yaml").read_text("utf-8")
    assert "fiscal_year:" in programmes
    result = runner.invoke(app, ["stats", "--home", str(home.settings.home), "--json", "--k", "2"])
    budget = json.loads(result.output)["budget"]
    assert len(budget["programmes"]) == 5 and budget["programmes"][0]["name"] == "こども食堂・居場所づくり支援事業"
    assert budget["error"] is None


def test_a_suspended_child_is_in_no_figure(home: Home) -> None:
    from datetime import UTC, datetime

    from support.hubs import hub_of
    from tsunagu.stats.source import gather
    from tsunagu.work.models import UseSuspension

    def gathered() -> tuple[set[str], set[str]]:
        with hub_of(home.settings.home) as hub, hub.sessions() as session:
            data = gather(session, hub.nodes(), "statistics_officer")
        children = {c.person_id for results in data.results.values() for c in results}
        return children, {record for per_run in data.absence.values() for record in per_run}

    children, records = gathered()
    assert children == {"P0001", "P0002", "P0003", "P0004"} and "school_kiroku:S001:0001" in records
    with home.factory.begin() as session:
        session.add(UseSuspension(person_id="P0001", since=datetime.now(UTC), reason="利用停止請求", active=True,
                                  recorded_by="po1"))
    children, records = gathered()
    assert "P0001" not in children and len(children) == 3
    assert "school_kiroku:S001:0001" not in records and len(records) == 3  # the child's school record too
