"""The 統計 page: the statistics officer's view, the same tables as ``tsunagu stats --json``, downloads."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable

from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from tsunagu.cli import app as cli_app
from tsunagu.config import load_settings
from tsunagu.privacy import AuditEntry
from tsunagu.web.app import create_app
from tsunagu.work import users as accounts
from web.conftest import Browser, TestClient
from work.builders import ADMIN, PASSWORD, Home

PEOPLE = ("P0001", "P0002", "P0003", "P0004")


def add_statistics_officer(home: Home, user_id: str = "stats1") -> str:
    with home.factory.begin() as session:
        accounts.create_user(session, ADMIN, user_id, role="statistics_officer", display_name="統計 担当",
                             organisation="policy", password=PASSWORD)
    return user_id


def test_the_page_and_the_command_publish_the_same_suppressed_tables(home: Home, browser: Callable[..., Browser]) -> None:
    b = browser(add_statistics_officer(home))
    page = b.client.get("/statistics")
    assert page.status_code == 200
    assert "統計" in page.text and "秘匿" in page.text
    assert not any(p in page.text for p in PEOPLE)  # no child's id on the page
    served = b.client.get("/statistics.json").json()
    result = CliRunner().invoke(cli_app, ["stats", "--home", str(home.settings.home), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["sections"] == served["sections"] and printed["k"] == served["k"] == 10
    # Four listed children in the small home: under k = 10 every count by group is suppressed.
    by_school = next(t for t in served["sections"]["aggregates"] if t["id"] == "listed_by_school")
    assert all(c["suppressed"] and c["value"] is None for row in by_school["cells"] for c in row if c["value"] != 0)
    assert by_school["total"] == {"value": None, "suppressed": True}


def _html_cells(page: str, table_id: str) -> list[str]:
    body = page.split(f'data-table="{table_id}"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", body, flags=re.S)]


def test_the_page_shows_the_numbers_of_the_json_at_the_municipal_k(home: Home) -> None:
    with home.settings.config_path.open("a", encoding="utf-8") as config:
        config.write("statistics_k: 2\n")  # the municipality's setting, read by the page and the command alike
    with TestClient(create_app(load_settings(home.settings.home))) as client:
        b = Browser(client)
        assert b.sign_in(add_statistics_officer(home)) == 303
        page = b.client.get("/statistics").text
    result = CliRunner().invoke(cli_app, ["stats", "--home", str(home.settings.home), "--json"])
    printed = json.loads(result.output)
    assert printed["k"] == 2
    for table in (t for tables in printed["sections"].values() for t in tables):
        if len(table["columns"]) > 8:
            continue  # shown turned; same cells, other order
        expected = []
        for row, total in zip(table["cells"], table["row_totals"], strict=True):
            expected += [c["value"] for c in row] + [total["value"]]
        if table["column_totals"]:
            expected += [c["value"] for c in table["column_totals"]] + [table["total"]["value"]]
        assert _html_cells(page, table["id"]) == ["秘匿" if v is None else f"{v:,}" for v in expected], table["id"]
    published = [c["value"] for ts in printed["sections"].values() for t in ts
                 for c in [*t["row_totals"], *(cell for row in t["cells"] for cell in row)]]
    assert any(published)  # at k = 2 the small home publishes something, so the comparison says something


def test_a_statistics_read_is_one_aggregate_entry(home: Home, browser: Callable[..., Browser]) -> None:
    b = browser(add_statistics_officer(home))
    assert b.client.get("/statistics").status_code == 200
    with home.factory() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.actor == "stats1")).all()
    reads = [e for e in entries if e.action == "statistics.read"]
    assert len(reads) == 1 and reads[0].person_id is None and reads[0].outcome == "allowed"
    assert all(e.person_id is None for e in entries)


def test_downloads_are_excel_safe_and_the_pdf_embeds_the_japanese_font(home: Home, browser: Callable[..., Browser]) -> None:
    from pypdf import PdfReader

    b = browser(add_statistics_officer(home))
    csv_body = b.client.get("/statistics.csv")
    assert csv_body.status_code == 200 and csv_body.content.startswith(b"\xef\xbb\xbf")
    assert "秘匿" in csv_body.content.decode("utf-8-sig")
    book = load_workbook(io.BytesIO(b.client.get("/statistics.xlsx").content))
    assert "説明" in book.sheetnames and len(book.sheetnames) > 5
    pdf = b.client.get("/statistics.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "統計報告" in text and "秘匿" in text
    fonts = {str(f.get("/BaseFont")) for page in reader.pages for f in (page["/Resources"].get("/Font") or {}).values()
             for f in [f.get_object()]}
    assert any("IPAexGothic" in name for name in fonts)
