"""The prefecture's board of education: high-school enrolment (在籍・中途退学・就学支援金) and attendance.

The prefecture knows students by its own 生徒番号, never by the municipality's 宛名番号: the roster
carries name, reading, birth date, sex and address for linkage. Attendance (monthly absence days)
is the prefectural schools' own; private schools report enrolment and 就学支援金 to the prefecture,
not attendance. A child in no high school of the prefecture simply has no record.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tsunagu.synth.context import Context
from tsunagu.synth.dates import NA, from_day, ymd
from tsunagu.synth.exports.common import Arr, IntArr, file_name, guardian_of, ints_text, sex_text
from tsunagu.synth.exports.school import SCHOOL_DAYS, absence_rates, month_starts
from tsunagu.synth.highschool import SCHOOLS
from tsunagu.synth.noise import address_column, blank_some, date_column, person_names
from tsunagu.synth.table import IMPOSSIBLE_DATE, INVALID_SEX, NON_NUMERIC, PID, UNKNOWN_CODE, Table, frame


def koko_zaiseki(ctx: Context) -> Table:
    src, pop, hs = "koko_zaiseki", ctx.pop, ctx.high_schools
    rng = ctx.rng(f"export/{src}")
    rows = hs.student
    name, kana = person_names(ctx, src, rows, rng=rng, form="hira", cp932=False)
    guardian_name, _ = person_names(ctx, src, guardian_of(ctx, rows), rng=rng, form=None)
    style = ctx.profile.noise.style(src)
    left = hs.left_day != NA
    left_text: Arr = date_column(ctx, src, np.where(left, hs.left_day, pop.export_day), rng=rng)
    left_text[~left] = ""
    cols = {
        "生徒番号": hs.numbers,
        "学校名": np.array([SCHOOLS[int(k)][1] for k in hs.school], dtype=object),
        "氏名": name,
        "ふりがな": kana,
        "生年月日": date_column(ctx, src, pop.p_birth[rows], rng=rng, birth=True),
        "性別": sex_text(ctx, rows),
        "住所": address_column(ctx, src, rows, rng=rng),
        "保護者氏名": blank_some(ctx, src, guardian_name, rng),
        "学年": ints_text(hs.grade),
        "入学日": date_column(ctx, src, hs.entry_day, rng=rng),
        "在籍状況": np.where(left, "中途退学", "在籍").astype(object),
        "退学日": left_text,
        "就学支援金": np.where(hs.support_fund, "受給", "非受給").astype(object),
    }
    breakable = [("生年月日", IMPOSSIBLE_DATE, style), ("性別", INVALID_SEX, style), ("在籍状況", UNKNOWN_CODE, style)]
    return Table(src, file_name(ctx, src), frame(cols, rows), key="生徒番号", sort=["生徒番号"],
                 encoding="utf-8", breakable=breakable)


def koko_shusseki(ctx: Context) -> Table:
    """Monthly absence days at the prefectural schools, drawn as the municipal schools draw them."""
    src, hs, nd = "koko_shusseki", ctx.high_schools, ctx.needs
    rng = ctx.rng(f"export/{src}")
    sel = np.flatnonzero(hs.public())
    students = hs.student[sel]
    starts = month_starts(ctx)
    n_m = len(starts)
    days_in = np.array([SCHOOL_DAYS[int(m)] for m in ymd(starts)[1]], dtype=np.int64)
    entry_month = np.searchsorted(starts, hs.entry_day[sel], side="right") - 1
    left_day = hs.left_day[sel]
    left_month = np.where(left_day != NA, np.searchsorted(starts, left_day, side="right") - 1, n_m)
    refusal = nd.school_refusal[students]
    onset, p_ref, p_norm = absence_rates(rng, refusal, n_m)
    p_list: list[IntArr] = []
    m_list: list[IntArr] = []
    a_list: list[IntArr] = []
    for k in range(n_m):
        p_abs = np.where((refusal > 0) & (k >= onset), p_ref, p_norm)
        absent = rng.binomial(int(days_in[k]), p_abs)
        idx = np.flatnonzero((k >= entry_month) & (k <= left_month))
        p_list.append(idx)
        m_list.append(np.full(len(idx), k, dtype=np.int64))
        a_list.append(absent[idx])
    p = np.concatenate(p_list)
    labels = [f"{from_day(int(s)).year:04d}-{from_day(int(s)).month:02d}" for s in starts]
    absent_text = pl.Series(np.concatenate(a_list)).cast(pl.String)
    df = pl.DataFrame(
        {
            "生徒番号": pl.Series(hs.numbers[sel], dtype=pl.String).gather(p),
            "年月": pl.Series(labels, dtype=pl.String).gather(np.concatenate(m_list)),
            "欠席日数": absent_text,
            PID: pl.Series(students[p], dtype=pl.Int64),
        }
    )
    breakable = [("欠席日数", NON_NUMERIC, "iso")]
    return Table(src, file_name(ctx, src), df, key="生徒番号", sort=["生徒番号", "年月"], encoding="utf-8",
                 breakable=breakable)
