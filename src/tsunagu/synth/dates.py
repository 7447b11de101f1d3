"""Dates as int64 day numbers (days since 1970-01-01), formatted in the styles departments use.

``tsunagu.ingest.dates.format_wareki`` formats one date; the generator formats millions, so this
module keeps its own vectorised formatter (same output: 令和6年4月1日 / R6.4.1).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]
IntArr = npt.NDArray[np.int64]

NA = -999_999  # a missing date
_EPOCH = date(1970, 1, 1)

# Era start days (the first day of each era), oldest first.
ERA_STARTS = (date(1926, 12, 25), date(1989, 1, 8), date(2019, 5, 1))
ERA_KANJI = ("昭和", "平成", "令和")
ERA_LETTER = ("S", "H", "R")

_NUM: Arr = np.array([str(i) for i in range(2200)], dtype=object)
_NUM2: Arr = np.array([f"{i:02d}" for i in range(100)], dtype=object)
_YEAR_KANJI: Arr = np.array(["元" if i == 1 else str(i) for i in range(100)], dtype=object)


def to_day(d: date) -> int:
    return (d - _EPOCH).days


def from_day(n: int) -> date:
    return _EPOCH + timedelta(days=int(n))


_ERA_DAYS = np.array([to_day(d) for d in ERA_STARTS], dtype=np.int64)


def ymd(days: IntArr) -> tuple[IntArr, IntArr, IntArr]:
    dt = days.astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    y = months.astype("datetime64[Y]").astype(np.int64) + 1970
    m = months.astype(np.int64) % 12 + 1
    d = (dt - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, d


def add_years(day: int, years: int) -> int:
    d = from_day(day)
    try:
        return to_day(d.replace(year=d.year + years))
    except ValueError:  # 29 February in a common year
        return to_day(d.replace(year=d.year + years, day=28))


def month_start(day: int, months_back: int = 0) -> int:
    d = from_day(day)
    index = d.year * 12 + d.month - 1 - months_back
    return to_day(date(index // 12, index % 12 + 1, 1))


def fiscal_year(days: IntArr) -> IntArr:
    """School/fiscal year (April–March) containing each day."""
    y, m, _ = ymd(days)
    return np.where(m >= 4, y, y - 1)


def school_cohort(birth: IntArr) -> IntArr:
    """The year whose April a child born on ``birth`` enters grade 1, minus 7.

    Children born 2 April Y … 1 April Y+1 share a cohort (学齢: age 6 on the day before 1 April).
    """
    y, m, d = ymd(birth)
    early = (m < 4) | ((m == 4) & (d == 1))
    return np.where(early, y - 1, y)


def format_dates(days: IntArr, style: str) -> Arr:
    """Format day numbers in one style; ``NA`` becomes an empty string."""
    out: Arr = np.full(len(days), "", dtype=object)
    ok = days != NA
    if not ok.any():
        return out
    y, m, d = ymd(days[ok])
    if style == "iso":
        text = _NUM[y] + "-" + _NUM2[m] + "-" + _NUM2[d]
    elif style == "slash":
        text = _NUM[y] + "/" + _NUM[m] + "/" + _NUM[d]
    else:
        era = np.searchsorted(_ERA_DAYS, days[ok], side="right") - 1
        if (era < 0).any():
            raise ValueError("date before 昭和 cannot be written in 和暦")
        base = np.array([e.year for e in ERA_STARTS], dtype=np.int64)[era]
        ey = y - base + 1
        if style == "kanji":
            text = np.array(ERA_KANJI, dtype=object)[era] + _YEAR_KANJI[ey] + "年" + _NUM[m] + "月" + _NUM[d] + "日"
        elif style == "abbrev":
            text = np.array(ERA_LETTER, dtype=object)[era] + _NUM[ey] + "." + _NUM[m] + "." + _NUM[d]
        elif style == "abbrev_slash":
            text = np.array(ERA_LETTER, dtype=object)[era] + _NUM[ey] + "/" + _NUM[m] + "/" + _NUM[d]
        else:
            raise ValueError(f"unknown date style {style!r}")
    out[ok] = text
    return out


def format_one(day: int, style: str) -> str:
    return str(format_dates(np.array([day], dtype=np.int64), style)[0])


DATE_STYLES_ALL: tuple[str, ...] = ("kanji", "abbrev", "abbrev_slash", "iso", "slash")

# A non-dominant style mixed into a source stays within what its staff would plausibly type:
# Western-dated systems mix the other Western form; 和暦 systems mix anything.
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "kanji": ("abbrev", "abbrev_slash", "iso", "slash"),
    "abbrev": ("abbrev_slash", "kanji"),
    "abbrev_slash": ("abbrev", "kanji"),
    "iso": ("slash",),
    "slash": ("iso",),
}


def impossible_date(style: str, pick: int) -> str:
    """A date string that looks plausible but names no real day (deliberately broken rows)."""
    options = {
        "kanji": ("令和6年2月30日", "平成31年5月1日", "令和5年13月1日", "令和3年4月31日"),
        "abbrev": ("R6.2.30", "H31.5.1", "R5.13.1", "R3.4.31"),
        "abbrev_slash": ("R6/2/30", "H31/5/1", "R5/13/1", "R3/4/31"),
        "iso": ("2024-02-30", "2023-13-01", "2021-04-31", "2025-00-10"),
        "slash": ("2024/2/30", "2023/13/1", "2021/4/31", "2025/0/10"),
    }[style]
    return options[pick % len(options)]


def typo_date(day: int, pick: float, latest: int | None = None) -> int:
    """A birth date as a clerk mistypes it: one digit off, or day and month swapped.

    Always a real day in a real era, and never after ``latest`` (a birth date in the future
    would be an error of another kind, not a typo an ingest should let through).
    """
    d = from_day(day)
    last = from_day(latest) if latest is not None else date(2099, 1, 1)
    candidates: list[date] = []
    if d.day <= 12 and d.day != d.month:
        candidates.append(date(d.year, d.day, d.month))
    for digit in "0123456789":
        for kind, text in (
            ("y", f"{d.year:04d}"[:3] + digit),
            ("m", f"{d.month:02d}"[0] + digit),
            ("d", f"{d.day:02d}"[0] + digit),
        ):
            value = int(text)
            try:
                if kind == "y":
                    candidates.append(date(value, d.month, d.day))
                elif kind == "m":
                    candidates.append(date(d.year, value, d.day))
                else:
                    candidates.append(date(d.year, d.month, value))
            except ValueError:
                continue
    valid = sorted({c for c in candidates if c != d and date(1926, 12, 25) <= c <= last})
    if not valid:
        return day
    return to_day(valid[int(pick * len(valid)) % len(valid)])
