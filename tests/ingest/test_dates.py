"""Table-driven tests for the 和暦 / Western date parser."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.ingest.dates import DateParseError, format_wareki, parse_date

D = dt.date

VALID = [
    # 令和 in every spelling
    ("令和6年4月1日", D(2024, 4, 1)),
    ("令和元年5月1日", D(2019, 5, 1)),
    ("令和1年5月1日", D(2019, 5, 1)),
    ("令和6年4月1日生", D(2024, 4, 1)),
    ("令和6年4月1日生まれ", D(2024, 4, 1)),
    ("令和 6年 4月 1日", D(2024, 4, 1)),
    ("  令和6年4月1日\t", D(2024, 4, 1)),
    ("令和６年４月１日", D(2024, 4, 1)),
    ("令和六年四月一日", D(2024, 4, 1)),
    ("令和五年十二月三十一日", D(2023, 12, 31)),
    ("令6年4月1日", D(2024, 4, 1)),
    ("R6.4.1", D(2024, 4, 1)),
    ("R06.04.01", D(2024, 4, 1)),
    ("r6.4.1", D(2024, 4, 1)),
    ("Ｒ６．４．１", D(2024, 4, 1)),
    ("ｒ6.4.1", D(2024, 4, 1)),
    ("R6-4-1", D(2024, 4, 1)),
    ("R6/4/1", D(2024, 4, 1)),
    ("R 6.4.1", D(2024, 4, 1)),
    ("R1.5.1", D(2019, 5, 1)),
    ("令和6.4.1", D(2024, 4, 1)),
    ("R6年4月1日", D(2024, 4, 1)),
    # 平成
    ("平成31年4月30日", D(2019, 4, 30)),
    ("H31/4/30", D(2019, 4, 30)),
    ("h31.4.30", D(2019, 4, 30)),
    ("平成元年1月8日", D(1989, 1, 8)),
    ("平成三十一年四月三十日", D(2019, 4, 30)),
    ("平成12年2月29日", D(2000, 2, 29)),
    ("平18.6.15", D(2006, 6, 15)),
    ("㍻31年4月30日", D(2019, 4, 30)),
    # 昭和
    ("S63年1月7日", D(1988, 1, 7)),
    ("昭和64年1月7日", D(1989, 1, 7)),
    ("昭和元年12月25日", D(1926, 12, 25)),
    ("S50.10.10", D(1975, 10, 10)),
    ("ｓ５０．１０．１０", D(1975, 10, 10)),
    ("昭55年3月3日", D(1980, 3, 3)),
    # 大正 and 明治
    ("大正15年12月24日", D(1926, 12, 24)),
    ("大正元年7月30日", D(1912, 7, 30)),
    ("T10.5.5", D(1921, 5, 5)),
    ("明治45年7月29日", D(1912, 7, 29)),
    ("明治元年10月23日", D(1868, 10, 23)),
    ("M30.1.1", D(1897, 1, 1)),
    ("明33年3月3日", D(1900, 3, 3)),
    # Western
    ("2024-04-01", D(2024, 4, 1)),
    ("2024-4-1", D(2024, 4, 1)),
    ("2024/4/1", D(2024, 4, 1)),
    ("2024/04/01", D(2024, 4, 1)),
    ("2024年4月1日", D(2024, 4, 1)),
    ("2024年4月1日生", D(2024, 4, 1)),
    ("二〇二四年四月一日", D(2024, 4, 1)),
    ("20240401", D(2024, 4, 1)),
    ("２０２４０４０１", D(2024, 4, 1)),
    ("2024.4.1", D(2024, 4, 1)),
    (" 2024-04-01 ", D(2024, 4, 1)),
    ("２０２４－０４－０１", D(2024, 4, 1)),
    ("2000-02-29", D(2000, 2, 29)),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_parse_valid(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


INVALID = [
    # (input, fragments that must all appear in the message)
    ("平成31年5月1日", ["平成31年5月1日は存在しない日付です", "令和元年5月1日", "Heisei 31-05-01 does not exist"]),
    ("令和元年4月30日", ["存在しない日付", "平成31年4月30日", "Heisei 31-04-30"]),
    ("昭和64年1月8日", ["存在しない日付", "平成元年1月8日"]),
    ("平成元年1月7日", ["存在しない日付", "昭和64年1月7日"]),
    ("大正15年12月25日", ["存在しない日付", "昭和元年12月25日"]),
    ("明治45年7月30日", ["存在しない日付", "大正元年7月30日"]),
    ("昭和100年1月1日", ["存在しない日付", "令和7年1月1日"]),
    ("明治元年1月1日", ["明治の始まり", "before the start of Meiji"]),
    ("令和0年1月1日", ["令和0年は存在しません", "year 0"]),
    ("令和6年2月30日", ["存在しない日付", "2月は29日まで", "Reiwa 6-02-30"]),
    ("令和5年2月29日", ["2月は28日まで"]),
    ("2024年2月30日", ["存在しない日付", "2024-02-30 does not exist"]),
    ("2023-02-29", ["2月は28日まで"]),
    ("2024-04-31", ["4月は30日まで"]),
    ("2024-13-01", ["13月は存在しません", "month 13"]),
    ("R6.13.1", ["13月は存在しません"]),
    ("2024-00-10", ["0月は存在しません"]),
    ("20241301", ["13月は存在しません"]),
    ("2024-04-00", ["存在しない日付"]),
    ("0000-01-01", ["year 0"]),
    ("R6.4/1", ["解釈できません", "not a recognised date"]),
    ("令和6年4月", ["解釈できません"]),
    ("24/4/1", ["解釈できません"]),
    ("X6.4.1", ["解釈できません"]),
    ("", ["解釈できません"]),
    ("昨日", ["解釈できません"]),
]


@pytest.mark.parametrize(("text", "fragments"), INVALID)
def test_parse_invalid(text: str, fragments: list[str]) -> None:
    with pytest.raises(DateParseError) as info:
        parse_date(text)
    for fragment in fragments:
        assert fragment in str(info.value)


STYLED = [
    ("R6.4.1", "wareki", D(2024, 4, 1)),
    ("令和6年4月1日", "wareki", D(2024, 4, 1)),
    ("2024-04-01", "iso", D(2024, 4, 1)),
    ("2024/4/1", "ymd_slash", D(2024, 4, 1)),
    ("20240401", "compact", D(2024, 4, 1)),
    ("２０２４０４０１", "compact", D(2024, 4, 1)),
]


@pytest.mark.parametrize(("text", "style", "expected"), STYLED)
def test_parse_with_style(text: str, style: str, expected: dt.date) -> None:
    assert parse_date(text, style) == expected


WRONG_STYLE = [
    ("2024-04-01", "wareki"),
    ("R6.4.1", "iso"),
    ("2024/4/1", "iso"),
    ("2024-04-01", "ymd_slash"),
    ("2024-04-01", "compact"),
    ("2024年4月1日", "iso"),
    ("20240401", "ymd_slash"),
]


@pytest.mark.parametrize(("text", "style"), WRONG_STYLE)
def test_style_rejects_other_forms(text: str, style: str) -> None:
    with pytest.raises(DateParseError, match=f"style '{style}'"):
        parse_date(text, style)


def test_unknown_style_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown date style") as info:
        parse_date("2024-04-01", "yyyy")
    assert not isinstance(info.value, DateParseError)


FORMATTED = [
    (D(2024, 4, 1), "kanji", "令和6年4月1日"),
    (D(2024, 4, 1), "abbrev", "R6.4.1"),
    (D(2019, 5, 1), "kanji", "令和元年5月1日"),
    (D(2019, 5, 1), "abbrev", "R1.5.1"),
    (D(2019, 4, 30), "kanji", "平成31年4月30日"),
    (D(1989, 1, 7), "kanji", "昭和64年1月7日"),
    (D(1989, 1, 8), "abbrev", "H1.1.8"),
    (D(1926, 12, 25), "kanji", "昭和元年12月25日"),
    (D(1912, 7, 30), "abbrev", "T1.7.30"),
    (D(1900, 1, 1), "kanji", "明治33年1月1日"),
]


@pytest.mark.parametrize(("day", "style", "expected"), FORMATTED)
def test_format_wareki(day: dt.date, style: str, expected: str) -> None:
    assert format_wareki(day, style) == expected


def test_format_wareki_rejects_dates_before_meiji_and_bad_style() -> None:
    with pytest.raises(ValueError, match="before the start of Meiji"):
        format_wareki(D(1868, 10, 22))
    with pytest.raises(ValueError, match="unknown wareki style"):
        format_wareki(D(2024, 4, 1), "roman")


@given(st.text())
def test_parse_date_only_raises_date_parse_error(text: str) -> None:
    with contextlib.suppress(DateParseError):
        parse_date(text)


_DATE_CHARS = "0123456789０１２３４５６７８９〇一二三四五六七八九十百千元年月日生./-／ 　RHSTMrhstm令平昭大明和成正治"


@given(st.text(alphabet=_DATE_CHARS, max_size=16))
def test_parse_date_only_raises_date_parse_error_on_date_like_text(text: str) -> None:
    with contextlib.suppress(DateParseError):
        parse_date(text)


@given(st.dates(min_value=D(1868, 10, 23), max_value=D(2100, 12, 31)), st.sampled_from(["kanji", "abbrev"]))
def test_format_then_parse_round_trips(day: dt.date, style: str) -> None:
    assert parse_date(format_wareki(day, style)) == day
    assert parse_date(format_wareki(day, style), "wareki") == day
