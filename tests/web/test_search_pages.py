"""The search page, the search API, the header box, the face sheet, the household view, the charts
and school names, through the app (TestClient)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from tsunagu.privacy.models import AuditEntry
from web.conftest import Browser
from work.builders import Home
from work.searching import SCHOOL_NAME

Make = Callable[[str | None], Browser]


@pytest.fixture
def home(searchable_home: Home) -> Home:
    """Every page here searches or shows what searching needs: a copy of the searchable home (built
    once per session, work/homes.py), which the ``browser`` fixture serves."""
    return searchable_home


def test_search_page_finds_a_child_by_a_variant_kanji_and_links_to_it(home: Home, browser: Make) -> None:
    page = browser("cw1").client.get("/search", params={"q": "高橋 たろう", "purpose": "assessment"})
    assert page.status_code == 200
    assert "髙橋　太郎" in page.text and "2018-04-01" in page.text and "小学5年" in page.text
    assert 'href="/children/P0001?purpose=assessment"' in page.text
    assert "検索結果（1人）" in page.text
    assert "佐藤" not in page.text


def test_ordinary_search_rows_name_the_school_grade_and_class(home: Home, browser: Make) -> None:
    page = browser("cw1").client.get("/search", params={"q": "鈴木", "purpose": "screening"}).text
    assert f"<td>{SCHOOL_NAME} 4年2組</td>" in page
    by_name = browser("cw1").client.get("/search", params={"q": "高橋 たろう", "purpose": "assessment"}).text
    # S001 is not in the 学校マスタ: the kind of school goes before the grade, class or not.
    assert "<td>S001 小学5年2組</td>" in by_name and "<td>S001 5年2組</td>" not in by_name


def test_a_word_that_cannot_be_read_is_shown_beside_the_box_with_what_was_typed(home: Home, browser: Make) -> None:
    page = browser("cw1").client.get("/search", params={"q": "2026年13月1日", "purpose": "screening"})
    assert page.status_code == 400
    assert 'id="s-error"' in page.text and "13月は存在しません" in page.text
    assert 'value="2026年13月1日"' in page.text


def test_every_staff_page_has_the_search_box_for_roles_that_may_search(home: Home, browser: Make) -> None:
    for user, shown in (("cw1", True), ("ssw1", True), ("admin1", False)):
        page = browser(user).client.get("/dashboard")
        assert ('action="/search"' in page.text) is shown, user


def test_api_search_answers_json_with_the_same_scope_and_audit(home: Home, browser: Make) -> None:
    answer = browser("ssw1").client.get("/api/search", params={"q": "2018/4/1"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 3 and [r["person_id"] for r in body["results"]] == ["P0002", "P0001", "P0004"]
    assert body["results"][1]["name"] == "髙橋　太郎" and body["results"][1]["grade_label"] == "小学5年"
    assert body["term_kinds"] == ["生年月日"]
    with home.factory() as session:
        shown = session.scalars(select(AuditEntry.person_id).where(AuditEntry.action == "children.search",
                                                                   AuditEntry.actor == "ssw1",
                                                                   AuditEntry.person_id.is_not(None))).all()
    assert sorted(shown) == ["P0001", "P0002", "P0004"]


def test_a_class_search_on_the_page_and_the_api_agree_and_are_audited(home: Home, browser: Make) -> None:
    ssw = browser("ssw1").client
    page = ssw.get("/search", params={"q": "3年2組", "purpose": "screening"})
    assert page.status_code == 200
    assert "検索結果（S001 小学3年2組、1人）" in page.text and "佐藤　花子" in page.text and "髙橋" not in page.text
    assert "<td>S001 小学3年2組</td>" in page.text  # the row names the class too, as the face sheet does
    body = ssw.get("/api/search", params={"q": "3年2組", "purpose": "screening"}).json()
    assert [r["person_id"] for r in body["results"]] == ["P0002"]
    assert body["results"][0]["school_class"] == "2組"
    assert (body["school_code"], body["grade"], body["class_label"], body["term_kinds"]) == ("S001", 3, "2組", ["組"])
    with home.factory() as session:
        shown = session.scalars(select(AuditEntry.person_id).where(AuditEntry.action == "children.search",
                                                                   AuditEntry.actor == "ssw1",
                                                                   AuditEntry.person_id.is_not(None))).all()
    assert shown == ["P0002", "P0002"]  # once for the page, once for the API
    # A centre-wide user names the school; without it the page says so beside the box.
    refused = browser("cw1").client.get("/search", params={"q": "3年2組", "purpose": "screening"})
    assert refused.status_code == 400 and "組で探すときは、学校を選んでください。" in refused.text


def test_api_search_refuses_without_sign_in_and_with_a_bad_word(home: Home, browser: Make) -> None:
    assert browser(None).client.get("/api/search", params={"q": "高橋"}).status_code == 401
    bad = browser("cw1").client.get("/api/search", params={"q": "!!!"})
    assert bad.status_code == 422 and "!!!" in bad.text


def test_face_sheet_puts_the_name_first_with_household_and_plans(home: Home, browser: Make) -> None:
    page = browser("cw1").client.get("/children/P0001", params={"purpose": "assessment"}).text
    h1 = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert h1 is not None and "髙橋　太郎" in h1.group(1)
    face = page[page.index('id="face-title"'):page.index('id="screen-title"')]
    assert "8歳" in face and "5年2組" in face  # grade and class (the roster's 組, released for assessment)
    assert "髙橋　洋子（母）" in face                       # the guardian, with the 続柄
    assert "佐藤　花子" in face and "予防的支援" in face    # the sibling and, for the centre, its tier
    assert 'href="/children/P0002?purpose=assessment"' in face  # … and a way to its own page
    assert 'href="/children/P0001/household?purpose=assessment"' in face
    assert page.index('id="face-title"') < page.index('id="screen-title"')


def test_a_teacher_sees_no_household_and_no_sibling(home: Home, browser: Make) -> None:
    page = browser("teacher1").client.get("/children/P0001", params={"purpose": "assessment"}).text
    assert "髙橋　洋子" not in page and "佐藤　花子" not in page


def test_household_view_lists_members_with_relationships(home: Home, browser: Make) -> None:
    page = browser("cw1").client.get("/children/P0002/household", params={"purpose": "assessment"})
    assert page.status_code == 200
    assert "佐藤　花子の世帯" in page.text
    assert "髙橋　洋子" in page.text and ">母<" in page.text and "髙橋　太郎" in page.text and "きょうだい" in page.text
    # The child's own row names the class as the child page's face sheet does (the roster wrote ２).
    own = page.text[page.text.index("<td>本人</td>"):]
    assert "<td>S001 小学3年2組</td>" in own[:own.index("</tr>")]
    # … and a sibling's row, shown without the class, writes the school and grade the same way.
    sibling = page.text[page.text.index("髙橋　太郎"):]
    assert "<td>S001 小学5年</td>" in sibling[:sibling.index("</tr>")]
    with home.factory() as session:
        members = session.scalars(select(AuditEntry.person_id).where(AuditEntry.action == "child.items.read",
                                                                     AuditEntry.actor == "cw1")).all()
    assert "P0009" in members  # each member shown is on record
    with home.factory() as session:
        class_read = session.scalars(select(AuditEntry).where(AuditEntry.action == "child.items.read",
                                                              AuditEntry.actor == "cw1",
                                                              AuditEntry.person_id == "P0002")).all()
    assert any(e.items == '["school_class"]' for e in class_read)  # the class read is on record, by its item


def test_child_page_charts_attendance_by_month_and_keeps_the_records_behind_a_disclosure(
        home: Home, browser: Make) -> None:
    page = browser("cw1").client.get("/children/P0001", params={"purpose": "assessment"}).text
    assert "<title" in page and "月ごとの出欠" in page
    chart = page[page.index("月ごとの出欠（欠席・遅刻・早退）"):]
    assert "2026-09: 欠席2、遅刻1、早退0" in chart and "2026-10: 欠席3、遅刻2、早退0" in chart
    assert "<details" in page and "記録の一覧を開く" in page
    assert 'aria-labelledby="trend-title trend-desc"' in page and "2026-09-30 見守り" in page


def test_schools_are_shown_by_name(home: Home, browser: Make) -> None:
    cw = browser("cw1").client
    listing = cw.get("/candidates", params={"purpose": "screening"}).text
    assert SCHOOL_NAME in listing and "C199290120001</td>" not in listing
    child = cw.get("/children/P0003", params={"purpose": "assessment"}).text
    assert SCHOOL_NAME in child
    assert "住民記録に世帯の情報がありません" in child  # P0003 is in no household


def test_school_grade_and_class_name_the_kind_of_school_once() -> None:
    from tsunagu.web.state import make_templates

    text = make_templates().env.from_string("{{ code | schooling(grade, school_class) }}")
    schools = {"B1": "つなぐ市立第一小学校", "C1": "つなぐ市立第一中学校"}

    def shown(code: str | None, grade: int | None, school_class: str = "") -> str:
        return text.render(schools=schools, code=code, grade=grade, school_class=school_class)

    # By the school's name when the 学校マスタ has it, the grade as the school counts it.
    assert (shown("B1", 5, "2組"), shown("B1", 3)) == ("つなぐ市立第一小学校 5年2組", "つなぐ市立第一小学校 3年")
    assert shown("C1", 7, "1組") == "つなぐ市立第一中学校 1年1組"
    # Otherwise before the grade, beside the code: with the class or without, the same way.
    assert (shown("S9", 5, "2組"), shown("S9", 3)) == ("S9 小学5年2組", "S9 小学3年")
    assert (shown("S9", 8, "3組"), shown(None, 8), shown(None, None, "2組")) == ("S9 中学2年3組", "中学2年", "2組")


def test_one_grade_display_everywhere() -> None:
    from tsunagu.web.state import grade_label

    assert [grade_label(g) for g in (1, 6, 7, 9, None)] == ["小学1年", "小学6年", "中学1年", "中学3年", ""]


def test_the_access_log_keeps_no_search_terms() -> None:
    import logging

    from tsunagu.web.routes.search import SearchTermsHidden

    def line(path: str) -> str:
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                                   ("127.0.0.1:5000", "GET", path, "1.1", 200), None)
        assert SearchTermsHidden().filter(record)
        return record.getMessage()

    assert "%E9%AB%98" not in line("/search?q=%E9%AB%98%E6%A9%8B&purpose=screening")
    assert "q=" not in line("/api/search?q=2014-05-03") and "/api/search?" in line("/api/search?q=2014-05-03")
    assert line("/candidates?purpose=screening").endswith('"GET /candidates?purpose=screening HTTP/1.1" 200')
