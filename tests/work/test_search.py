"""こどもの検索 (work.search): every way a clerk writes a name or a date finds the child; scope,
suspension and the audit entry (which names the kinds of terms, never the terms)."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from tsunagu.catalog.manifest import packaged_manifest_dir
from tsunagu.hub import Hub
from tsunagu.privacy.models import AuditEntry
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.search import SearchResult, parse_word, search_children
from tsunagu.work.suspensions import suspend
from work.builders import Home

ALL = ["P0001", "P0002", "P0003", "P0004"]


@pytest.fixture
def home(searchable_home: Home) -> Home:
    """Every test here searches: a copy of the small home made searchable (work/searching.py)."""
    return searchable_home


def _found(home: Home, user: str, query: str, **kw: object) -> SearchResult:
    hub = Hub(home.settings)
    try:
        with home.factory.begin() as session:
            return search_children(session, home.subject(user), "screening", query, secret=hub.search_secret,
                                   nodes=hub.nodes(), manifests=hub.manifests, **kw)  # type: ignore[arg-type]
    finally:
        hub.close()


def _search(home: Home, user: str, query: str, **kw: object) -> list[str]:
    return sorted(r.person_id for r in _found(home, user, query, **kw).rows)


@pytest.mark.parametrize(("query", "expected"), [
    ("髙橋", ["P0001"]),                 # as registered
    ("高橋", ["P0001"]),                 # the common form of a variant kanji (curated table)
    ("高橋 太郎", ["P0001"]),            # family and given name
    ("高橋太郎", ["P0001"]),             # typed without the space
    ("たかはし", ["P0001"]),             # reading in hiragana
    ("タカハシ　タロウ", ["P0001"]),     # katakana, full-width space
    ("ﾀｶﾊｼ", ["P0001"]),                 # half-width katakana
    ("花子", ["P0002"]),                 # a given name alone
    ("2018-04-01", ALL),                 # ISO
    ("2018/4/1", ALL),                   # slashes, no zero padding
    ("平成30年4月1日", ALL),             # 和暦
    ("H30.4.1", ALL),                    # 和暦, abbreviated
    ("佐藤 2018/4/1", ["P0002"]),        # every word must match
    ("1000000003", ["P0003"]),           # 宛名番号
    ("高橋 花子", []),                   # two children's words: nobody
    ("山本", []),
    ("2018-04-02", []),
])
def test_each_way_of_writing_finds_the_child(home: Home, query: str, expected: list[str]) -> None:
    assert _search(home, "cw1", query) == expected


def test_school_and_grade_narrow_the_search(home: Home) -> None:
    assert _search(home, "cw1", "2018-04-01", school="S001") == ["P0001", "P0002", "P0004"]
    assert _search(home, "cw1", "", school="S001", grade=3) == ["P0002"]


def test_a_child_out_of_scope_is_not_found(home: Home) -> None:
    # The SSW of S001 sees S001's children: 鈴木 (S002) exists, and is not found.
    assert _search(home, "ssw1", "鈴木") == []
    assert _search(home, "ssw1", "2018-04-01") == ["P0001", "P0002", "P0004"]
    # A teacher sees the children assigned to them (teacher1: P0001).
    assert _search(home, "teacher1", "2018-04-01") == ["P0001"]


def test_a_role_without_search_is_refused(home: Home) -> None:
    with pytest.raises(Refused):
        _search(home, "admin1", "高橋")


def test_a_suspended_child_is_not_found(home: Home) -> None:
    with home.factory.begin() as session:
        suspend(session, home.subject("po1"), "P0001", "本人からの利用停止請求")
    assert _search(home, "cw1", "高橋") == []


def test_the_search_is_audited_without_the_terms(home: Home) -> None:
    _search(home, "cw1", "髙橋 H30.4.1")
    with home.factory() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "children.search")
                                  .order_by(AuditEntry.seq)).all()
    summary = [e for e in entries if e.person_id is None and "検索語の種類" in e.reason]
    assert len(summary) == 1
    assert "氏名" in summary[0].reason and "生年月日" in summary[0].reason and "該当 1人" in summary[0].reason
    assert [e.person_id for e in entries if e.person_id] == ["P0001"]  # the child shown, for its family
    for e in entries:
        assert "髙橋" not in e.reason and "高橋" not in e.reason and "H30" not in e.reason


def test_names_come_from_the_register_for_the_purpose(home: Home) -> None:
    found = _found(home, "cw1", "佐藤")
    row = found.rows[0]
    assert (row.name, row.birth_date.isoformat() if row.birth_date else None, row.tier) == \
        ("佐藤　花子", "2018-04-01", "予防的支援")
    assert "サトウ" in row.reading.replace(" ", "").replace("　", "")


@pytest.mark.parametrize("word", ["!!!", "＃", "2026年13月1日"])
def test_a_word_that_is_nothing_is_refused(word: str) -> None:
    with pytest.raises(Invalid):
        parse_word(word)


def test_results_are_in_the_order_of_their_reading(home: Home) -> None:
    found = _found(home, "cw1", "2018-04-01")
    assert [r.person_id for r in found.rows] == ["P0002", "P0003", "P0001", "P0004"]  # サトウ スズキ タカハシ タナカ


@pytest.mark.parametrize(("user", "query", "school", "expected"), [
    ("cw1", "3年2組", "S001", ["P0002"]),           # the roster wrote ２ for 2組: one spelling per class
    ("cw1", "３年２組", "S001", ["P0002"]),         # typed full width
    ("cw1", "2組", "S001", ["P0001", "P0002"]),      # every grade's 2組 at the school
    ("cw1", "6年1組", "S001", ["P0004"]),
    ("cw1", "4年1組", "S001", []),                  # no such class
    ("cw1", "佐藤 2組", "S001", ["P0002"]),          # with a name: every word must match
    ("ssw1", "3年2組", None, ["P0002"]),            # the SSW of S001: their own school
    ("teacher1", "5年2組", None, ["P0001"]),        # the teacher sees the children assigned to them
    ("teacher1", "3年2組", None, []),               # 佐藤 is in 3年2組 but not theirs to see
    ("ssw1", "2組", "S002", []),                    # another school's class: outside the SSW's scope
])
def test_a_class_finds_its_children_within_the_scope(home: Home, user: str, query: str, school: str | None,
                                                     expected: list[str]) -> None:
    assert _search(home, user, query, school=school) == expected


def test_a_class_needs_a_school_for_a_centre_wide_user(home: Home) -> None:
    with pytest.raises(Invalid, match="学校を選んで"):
        _search(home, "cw1", "3年2組")
    with pytest.raises(Invalid, match="学年"):
        _search(home, "cw1", "3年2組", school="S001", grade=5)


@pytest.mark.parametrize(("word", "grade", "label", "junior"), [
    ("3年2組", 3, "2組", None), ("2組", None, "2組", None), ("中1年3組", 1, "3組", True),
    ("小4年ひまわり学級", 4, "ひまわり学級", False), ("a組", None, "A組", None),
])
def test_a_class_word_is_read_as_a_teacher_writes_it(word: str, grade: int | None, label: str,
                                                     junior: bool | None) -> None:
    parsed = parse_word(word)
    assert (parsed.kinds, parsed.keys, parsed.grade, parsed.junior_high) == (("k",), (("k", label),), grade, junior)
    # 3年 at a junior high (学校コード C1…) is the hub's grade 9; at an elementary school, 3.
    assert parse_word("3年2組").grade_at("C199290120001") == 9
    assert parse_word("3年2組").grade_at("B199290110001") == 3


def test_a_class_search_is_audited_without_the_class(home: Home) -> None:
    _search(home, "ssw1", "3年2組")
    with home.factory() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "children.search")
                                  .order_by(AuditEntry.seq)).all()
    summary = [e for e in entries if e.person_id is None and "検索語の種類" in e.reason]
    assert len(summary) == 1 and "組" in summary[0].reason and "該当 1人" in summary[0].reason
    assert [e.person_id for e in entries if e.person_id] == ["P0002"]
    assert not any("2組" in e.reason or "3年" in e.reason for e in entries)


def _rows(home: Home, user: str, query: str, **kw: object) -> dict[str, str]:
    return {r.person_id: r.school_class for r in _found(home, user, query, **kw).rows}


def test_each_row_shows_its_class_as_the_roster_names_it(home: Home) -> None:
    # Every child's class, whatever was typed (a birth date here), in one spelling (the roster's ２ is 2組).
    assert _rows(home, "cw1", "2018-04-01") == {"P0001": "2組", "P0002": "2組", "P0003": "2組",
                                                         "P0004": "1組"}
    assert _rows(home, "ssw1", "3年2組") == {"P0002": "2組"}
    with home.factory() as session:
        listed = session.scalars(select(AuditEntry).where(AuditEntry.action == "children.search",
                                                          AuditEntry.person_id.is_not(None))).all()
    # Each child's entry names the item read for it, never the class itself.
    assert listed and all(json.loads(e.items or "[]") == ["school_class"] for e in listed)
    assert not any("2組" in (e.reason or "") + (e.items or "") for e in listed)


def test_a_class_the_roster_does_not_release_for_the_purpose_is_not_shown(home: Home) -> None:
    own = home.settings.home / "manifests"
    shutil.copytree(packaged_manifest_dir(), own)
    meibo = own / "school_meibo.yaml"
    meibo.write_text(meibo.read_text(encoding="utf-8").replace("  screening: [school_class]\n", ""), encoding="utf-8")
    assert _rows(home, "cw1", "2018-04-01") == dict.fromkeys(("P0001", "P0002", "P0003", "P0004"), "")
    # Searching by the class still works: the class key was written by the linkage run, not read here.
    assert _rows(home, "ssw1", "3年2組") == {"P0002": ""}
