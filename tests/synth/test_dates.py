"""The generator's vectorised date writer agrees with the ingest's reader and 和暦 formatter."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from tsunagu.synth.dates import DATE_STYLES_ALL, format_dates, impossible_date, to_day, typo_date

ingest_dates = pytest.importorskip("tsunagu.ingest.dates")

BOUNDARIES = [
    date(1989, 1, 7),
    date(1989, 1, 8),
    date(2019, 4, 30),
    date(2019, 5, 1),
    date(2020, 2, 29),
    date(1930, 1, 1),
]


def _sample() -> list[date]:
    rng = np.random.default_rng(5)
    start = date(1930, 1, 1)
    days = rng.integers(0, (date(2026, 12, 31) - start).days, 2000)
    return BOUNDARIES + [start + timedelta(days=int(d)) for d in days]


def test_every_style_reads_back_as_the_same_day() -> None:
    sample = _sample()
    numbers = np.array([to_day(d) for d in sample], dtype=np.int64)
    for style in DATE_STYLES_ALL:
        written = format_dates(numbers, style)
        assert [ingest_dates.parse_date(str(text)) for text in written] == sample, style


def test_wareki_matches_the_ingest_formatter() -> None:
    sample = _sample()
    numbers = np.array([to_day(d) for d in sample], dtype=np.int64)
    assert list(format_dates(numbers, "kanji")) == [ingest_dates.format_wareki(d, "kanji") for d in sample]
    assert list(format_dates(numbers, "abbrev")) == [ingest_dates.format_wareki(d, "abbrev") for d in sample]
    assert format_dates(np.array([to_day(date(2019, 5, 1))], dtype=np.int64), "kanji")[0] == "令和元年5月1日"


@pytest.mark.parametrize("style", DATE_STYLES_ALL)
def test_impossible_dates_are_refused(style: str) -> None:
    for pick in range(8):
        with pytest.raises(ValueError):
            ingest_dates.parse_date(impossible_date(style, pick))


def test_birth_date_typos_stay_real_and_differ() -> None:
    rng = np.random.default_rng(1)
    for d in _sample()[:500]:
        latest = to_day(date(2026, 10, 31))
        typo = typo_date(to_day(d), float(rng.random()), latest)
        assert typo != to_day(d) or to_day(d) > latest
        assert typo <= max(latest, to_day(d))
        written = format_dates(np.array([typo], dtype=np.int64), "kanji")[0]
        ingest_dates.parse_date(str(written))  # a real day in a real era
