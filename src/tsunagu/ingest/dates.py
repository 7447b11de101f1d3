"""Parsing of Japanese (和暦) and Western dates as found in department exports.

One entry point, :func:`parse_date`, and one error type whose message says in
Japanese and English what is wrong, so that an ingest report can show it to
the clerk who owns the record. :func:`format_wareki` writes dates back in era
form for the synthetic data generator.

Era boundaries follow the brief: each era starts on its real first day and
ends the day before the next one starts, so 昭和64年1月7日 is valid and
平成31年5月1日 is not. Dates in 明治1-5年 are read as Gregorian although the
lunisolar calendar was still in use; no child record reaches that far back.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from tsunagu.errors import InputError
from tsunagu.ingest.normalize.addresses import kanji_to_int

__all__ = ["STYLES", "DateParseError", "excel_serial_date", "format_wareki", "parse_date", "parse_excel_serial"]


class DateParseError(InputError, ValueError):
    """A date string could not be read; the message gives the reason in 日本語 / English."""

    code = "date"


@dataclass(frozen=True, slots=True)
class _Era:
    name: str
    roman: str
    letter: str
    start: dt.date
    end: dt.date | None  # None for the current era


def _eras() -> tuple[_Era, ...]:
    spec = [
        ("明治", "Meiji", "M", dt.date(1868, 10, 23)),
        ("大正", "Taisho", "T", dt.date(1912, 7, 30)),
        ("昭和", "Showa", "S", dt.date(1926, 12, 25)),
        ("平成", "Heisei", "H", dt.date(1989, 1, 8)),
        ("令和", "Reiwa", "R", dt.date(2019, 5, 1)),
    ]
    eras = []
    for i, (name, roman, letter, start) in enumerate(spec):
        end = spec[i + 1][3] - dt.timedelta(days=1) if i + 1 < len(spec) else None
        eras.append(_Era(name, roman, letter, start, end))
    return tuple(eras)


ERAS = _eras()
_ERA_BY_TOKEN: dict[str, _Era] = {}
for _era in ERAS:
    _ERA_BY_TOKEN[_era.name] = _era
    _ERA_BY_TOKEN[_era.name[0]] = _era
    _ERA_BY_TOKEN[_era.letter] = _era
    _ERA_BY_TOKEN[_era.letter.lower()] = _era

STYLES = frozenset({"auto", "wareki", "iso", "ymd_slash", "compact"})
_STYLE_HINT = {  # (Japanese, English) description of the one accepted form
    "wareki": ("和暦（令和6年4月1日, R6.4.1 など）", "a Japanese era form such as R6.4.1"),
    "iso": ("YYYY-MM-DD", "YYYY-MM-DD"),
    "ymd_slash": ("YYYY/M/D", "YYYY/M/D"),
    "compact": ("YYYYMMDD", "YYYYMMDD"),
}

_ERA_TOKEN = r"(?P<era>明治|大正|昭和|平成|令和|[明大昭平令MTSHRmtshr])"
_YEAR = r"(?P<y>\d{1,3}|元)"
_MD_KANJI = r"\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日(?:生まれ|生れ|生)?"
_MD_SEP = r"(?P<sep>[./-])\s*(?P<m>\d{1,2})\s*(?P=sep)\s*(?P<d>\d{1,2})"
_WAREKI = (
    re.compile(rf"{_ERA_TOKEN}\s*{_YEAR}{_MD_KANJI}"),
    re.compile(rf"{_ERA_TOKEN}\s*{_YEAR}\s*{_MD_SEP}"),
)
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
_SLASH = re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})")
_COMPACT = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})")
_WESTERN_OTHER = (
    re.compile(rf"(?P<y>\d{{4}}){_MD_KANJI}"),
    re.compile(r"(?P<y>\d{4})\.(?P<m>\d{1,2})\.(?P<d>\d{1,2})"),
)
_WESTERN_BY_STYLE: dict[str, tuple[re.Pattern[str], ...]] = {
    "auto": (_ISO, _SLASH, _COMPACT, *_WESTERN_OTHER),
    "wareki": (),
    "iso": (_ISO,),
    "ymd_slash": (_SLASH,),
    "compact": (_COMPACT,),
}
_KANJI_NUMERAL = re.compile("[〇一二三四五六七八九十百千]+")


def _fail(ja: str, en: str) -> DateParseError:
    return DateParseError(f"{ja} / {en}")


def _kanji_numeral(m: re.Match[str]) -> str:
    run = m.group(0)
    # No date part needs more than four digits; leaving long runs alone keeps
    # garbage input away from int→str conversion limits.
    return str(kanji_to_int(run)) if len(run) <= 8 else run


def _era_of(day: dt.date) -> _Era | None:
    for era in reversed(ERAS):
        if day >= era.start:
            return era
    return None


def _wareki_label(era: _Era, year: int, month: int, day: int) -> tuple[str, str]:
    ja_year = "元" if year == 1 else str(year)
    return (f"{era.name}{ja_year}年{month}月{day}日", f"{era.roman} {year}-{month:02d}-{day:02d}")


def _build(year: int, month: int, day: int, ja: str, en: str) -> dt.date:
    if not 1 <= year <= 9999:
        raise _fail(f"{ja}: {year}年は扱えません", f"{en}: year {year} is out of range")
    if not 1 <= month <= 12:
        raise _fail(f"{ja}: {month}月は存在しません", f"{en}: month {month} does not exist")
    try:
        return dt.date(year, month, day)
    except ValueError:
        last = calendar.monthrange(year, month)[1]
        raise _fail(
            f"{ja}は存在しない日付です（{month}月は{last}日まで）",
            f"{en} does not exist (month {month} has {last} days)",
        ) from None


def _from_wareki(m: re.Match[str]) -> dt.date:
    era = _ERA_BY_TOKEN[m.group("era")]
    raw_year = m.group("y")
    year = 1 if raw_year == "元" else int(raw_year)
    month, day = int(m.group("m")), int(m.group("d"))
    ja, en = _wareki_label(era, year, month, day)
    if year == 0:
        raise _fail(f"{era.name}0年は存在しません", f"{era.roman} year 0 does not exist")
    result = _build(era.start.year + year - 1, month, day, ja, en)
    if result >= era.start and (era.end is None or result <= era.end):
        return result
    actual = _era_of(result)
    if actual is None:
        first = ERAS[0].start
        raise _fail(
            f"{ja}は明治の始まり（{first.year}年{first.month}月{first.day}日）より前です",
            f"{en} is before the start of Meiji ({first.isoformat()})",
        )
    ja_ok, en_ok = _wareki_label(actual, result.year - actual.start.year + 1, month, day)
    raise _fail(f"{ja}は存在しない日付です（{ja_ok}）", f"{en} does not exist ({en_ok})")


def _from_western(m: re.Match[str]) -> dt.date:
    year, month, day = int(m.group("y")), int(m.group("m")), int(m.group("d"))
    return _build(year, month, day, f"{year}年{month}月{day}日", f"{year:04d}-{month:02d}-{day:02d}")


@lru_cache(maxsize=1 << 16)
def _parse(text: str, style: str) -> dt.date:
    s = unicodedata.normalize("NFKC", text).strip()
    if _KANJI_NUMERAL.search(s):
        s = _KANJI_NUMERAL.sub(_kanji_numeral, s)
    if style in ("auto", "wareki"):
        for pattern in _WAREKI:
            m = pattern.fullmatch(s)
            if m:
                return _from_wareki(m)
    for pattern in _WESTERN_BY_STYLE[style]:
        m = pattern.fullmatch(s)
        if m:
            return _from_western(m)
    ja, en = f"日付として解釈できません: {text!r}", f"not a recognised date: {text!r}"
    if style != "auto":
        ja_form, en_form = _STYLE_HINT[style]
        ja, en = f"{ja}（期待する形式: {ja_form}）", f"{en} (style {style!r} expects {en_form})"
    raise _fail(ja, en)


def parse_date(text: str, style: str = "auto") -> dt.date:
    """Parse a 和暦 or Western date string.

    ``style`` restricts the accepted form: ``"wareki"`` (令和6年4月1日, R6.4.1,
    H31/4/30, S63年1月7日生 ...), ``"iso"`` (2024-04-01), ``"ymd_slash"``
    (2024/4/1), ``"compact"`` (20240401); ``"auto"`` accepts all of those plus
    2024年4月1日 and 2024.4.1. Full-width characters, kanji numerals, 元年 and
    surrounding whitespace are accepted in every style.

    Raises DateParseError (a ValueError) naming the problem, e.g. a date
    outside its era together with the correct era form, or 2月30日.
    Raises plain ValueError for an unknown ``style``.
    """
    if style not in STYLES:
        raise ValueError(f"unknown date style {style!r}; expected one of {sorted(STYLES)}")
    return _parse(text, style)


# Excel's day 0: 1899-12-31 in the 1900 system (serial 1 is 1 January 1900), 1904-01-01 in the 1904
# system (Excel for Mac before 2011, and any workbook with "use 1904 date system" set).
_EXCEL_1900_DAY0 = dt.date(1899, 12, 31)
_EXCEL_1904_DAY0 = dt.date(1904, 1, 1)
# Serials read from text: five digits (1927-05-18 … 2173-10-14 in the 1900 system), optionally with a
# time fraction. Shorter numbers are years, counts or codes far more often than dates.
_SERIAL = re.compile(r"(?P<days>\d{5})(?:\.\d*)?")


def excel_serial_date(serial: int, *, date1904: bool = False) -> dt.date:
    """The date an Excel serial number stands for.

    The 1900 system keeps Lotus 1-2-3's leap-year bug: serial 60 is 29 February 1900, a day that
    never existed, so serials from 61 on are one day ahead of a plain count. Serial 60 is refused.
    """
    if date1904:
        day0, days = _EXCEL_1904_DAY0, serial
    else:
        if serial == 60:
            raise _fail("Excelの日付シリアル値 60 は存在しない1900年2月29日です",
                        "Excel serial 60 is 1900-02-29, a day that does not exist (Lotus 1-2-3 leap-year bug)")
        day0, days = _EXCEL_1900_DAY0, serial - 1 if serial > 60 else serial
    if days < (0 if date1904 else 1):
        raise _fail(f"Excelの日付シリアル値 {serial} は範囲外です", f"Excel serial {serial} is out of range")
    try:
        return day0 + dt.timedelta(days=days)
    except OverflowError:
        raise _fail(f"Excelの日付シリアル値 {serial} は範囲外です", f"Excel serial {serial} is out of range") from None


def parse_excel_serial(text: str, *, date1904: bool = False) -> dt.date | None:
    """A cell holding an Excel serial date as text (``43466``, ``43466.0``, full-width digits), else None."""
    m = _SERIAL.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if m is None:
        return None
    return excel_serial_date(int(m.group("days")), date1904=date1904)


def format_wareki(date: dt.date, style: str = "kanji") -> str:
    """Write ``date`` in era form: ``"令和6年4月1日"`` (kanji, 元年 for year 1) or ``"R6.4.1"`` (abbrev).

    Raises ValueError for dates before 明治 or an unknown style.
    """
    era = _era_of(date)
    if era is None:
        raise ValueError(f"{date.isoformat()} is before the start of Meiji ({ERAS[0].start.isoformat()})")
    year = date.year - era.start.year + 1
    if style == "kanji":
        return _wareki_label(era, year, date.month, date.day)[0]
    if style == "abbrev":
        return f"{era.letter}{year}.{date.month}.{date.day}"
    raise ValueError(f"unknown wareki style {style!r}; expected 'kanji' or 'abbrev'")
