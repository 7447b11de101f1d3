"""Each municipal school's own files: roster, monthly records, yearly surveys; and 心の天気.

Schools know pupils only by their own 児童生徒番号, never by 宛名番号. Monthly records and the
心の天気 answers run to millions of rows in a big city, so they are built as polars frames from
numpy arrays without per-row Python.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from tsunagu.synth.context import Context
from tsunagu.synth.dates import format_dates, from_day, month_start, to_day, ymd
from tsunagu.synth.exports.common import Arr, IntArr, file_name, guardian_of, ints_text, sex_text
from tsunagu.synth.noise import address_column, blank_some, date_column, person_names
from tsunagu.synth.schools import JUNIOR_HIGH
from tsunagu.synth.table import BAD_CLASS, IMPOSSIBLE_DATE, INVALID_SEX, NON_NUMERIC, PID, UNKNOWN_CODE, Table, frame

# school days per calendar month (approximate public-school calendar; August is the summer break)
SCHOOL_DAYS = {1: 17, 2: 18, 3: 16, 4: 18, 5: 19, 6: 21, 7: 14, 8: 2, 9: 20, 10: 21, 11: 19, 12: 16}


def _encoding(index: int) -> str:
    # about a third of the schools' systems write a BOM
    return "utf-8-sig" if index % 3 == 0 else "utf-8"


def _public(ctx: Context) -> IntArr:
    sn = ctx.schools
    return np.flatnonzero(sn.public[sn.school])


def school_meibo(ctx: Context) -> list[Table]:
    src, pop, sn = "school_meibo", ctx.pop, ctx.schools
    rng = ctx.rng(f"export/{src}")
    sel = _public(ctx)
    rows = sn.pupil[sel]
    name, kana = person_names(ctx, src, rows, rng=rng, form="hira", cp932=False)
    guardian = guardian_of(ctx, rows)
    g_name, g_kana = person_names(ctx, src, guardian, rng=rng, form="hira", cp932=False)
    style = ctx.profile.noise.style(src)
    cols = {
        "学校コード": sn.codes[sn.school[sel]],
        "児童生徒番号": sn.student_no[sel],
        "氏名": name,
        "ふりがな": kana,
        "生年月日": date_column(ctx, src, pop.p_birth[rows], rng=rng, birth=True),
        "性別": sex_text(ctx, rows),
        "住所": address_column(ctx, src, rows, rng=rng, style="hyphen"),
        "保護者氏名": blank_some(ctx, src, g_name, rng),
        "保護者ふりがな": blank_some(ctx, src, g_kana, rng),
        "学年": ints_text(sn.grade[sel]),
        "組": ints_text(sn.klass[sel]) + "組",
    }
    breakable = [("生年月日", IMPOSSIBLE_DATE, style), ("性別", INVALID_SEX, style), ("学年", NON_NUMERIC, style),
                 ("組", BAD_CLASS, style)]
    return _per_school(ctx, src, "meibo", frame(cols, rows), ["学年", "組", "児童生徒番号"], breakable)


def _per_school(
    ctx: Context, src: str, stem: str, df: pl.DataFrame, sort: list[str], breakable: list[tuple[str, str, str]]
) -> list[Table]:
    sn = ctx.schools
    tables = []
    parts = df.partition_by("学校コード", as_dict=True, maintain_order=True)
    for index, code in enumerate(str(c) for c in sn.codes):
        part = parts.get((code,))
        if part is None or not sn.public[index]:
            continue
        tables.append(
            Table(
                src,
                file_name(ctx, f"school_{code}_{stem}"),
                part,
                key="児童生徒番号",
                sort=sort,
                encoding=_encoding(index),
                breakable=breakable,
            )
        )
    return tables


def month_starts(ctx: Context) -> IntArr:
    months = ctx.profile.period_months
    return np.array([month_start(ctx.pop.export_day, months - 1 - k) for k in range(months)], dtype=np.int64)


def _missing_ints(ctx: Context, src: str, values: IntArr, rng: np.random.Generator) -> pl.Series:
    hit = ctx.draw(src, "missing_value", np.ones(len(values), dtype=bool), rng)
    return (
        pl.Series(values).cast(pl.String).scatter(np.flatnonzero(hit), None)
        if hit.any()
        else pl.Series(values).cast(pl.String)
    )


def absence_rates(rng: np.random.Generator, refusal: IntArr, n_months: int) -> tuple[IntArr, Arr, Arr]:
    """Per pupil: the month school refusal begins, the daily absence chance after it, and otherwise.

    Shared by the municipal schools and the prefecture's high schools, so that a high school's
    attendance carries no stronger a signal of school refusal than a junior high's.
    """
    n = len(refusal)
    onset = rng.integers(0, max(n_months // 2, 1), n)
    p_ref = np.where(refusal == 2, rng.beta(8, 2, n), rng.beta(4, 5, n))
    p_norm = rng.beta(1.2, 60, n)
    return onset, p_ref, p_norm


def school_kiroku(ctx: Context) -> list[Table]:
    src, sn, nd = "school_kiroku", ctx.schools, ctx.needs
    rng = ctx.rng(f"export/{src}")
    sel = _public(ctx)
    pupils = sn.pupil[sel]
    starts = month_starts(ctx)
    n_p, n_m = len(sel), len(starts)
    month_no = ymd(starts)[1]
    days_in = np.array([SCHOOL_DAYS[int(m)] for m in month_no], dtype=np.int64)
    entry_month = np.searchsorted(starts, sn.entry_day[sel], side="right") - 1

    refusal = nd.school_refusal[pupils]
    neglect = (nd.neglect[pupils] > 0).astype(float)
    abuse = (nd.abuse[pupils] > 0).astype(float)
    poverty = (nd.poverty[pupils] > 0).astype(float)
    carer = (nd.young_carer[pupils] > 0).astype(float)
    bullied = nd.bullied[pupils].astype(float)
    dev = (nd.developmental[pupils] > 0).astype(float)
    aid = nd.school_aid[pupils] > 0
    onset, p_ref, p_norm = absence_rates(rng, refusal, n_m)
    lam_late = 0.2 + 1.2 * neglect + 0.4 * poverty + 0.8 * carer + 0.3 * (refusal > 0)
    lam_early = 0.1 + 0.4 * np.maximum(abuse, bullied) + 0.3 * dev
    lam_room = 0.2 + 1.2 * abuse + 0.9 * bullied + 0.6 * (refusal > 0) + 0.5 * carer
    p_miss = np.where(aid, 0.01, 0.004 + 0.25 * poverty + 0.2 * neglect)
    material = rng.random(n_p) < np.where(aid, 0.01, 0.01 + 0.3 * poverty + 0.25 * neglect)
    material_from = rng.integers(0, n_m, n_p)
    ssw = nd.ssw[pupils]
    ssw_from = np.maximum(entry_month, 0) + np.floor(rng.random(n_p) * (n_m - np.maximum(entry_month, 0))).astype(
        np.int64
    )
    ssw_kind: Arr = np.array(["SSW", "SC", "SSW・SC"], dtype=object)[rng.choice(3, size=n_p, p=[0.45, 0.35, 0.2])]

    cols: dict[str, list[IntArr]] = {k: [] for k in ("p", "m", "abs", "late", "early", "room", "arrears")}
    material_cols: list[Arr] = []
    ssw_cols: list[Arr] = []
    arrears = np.zeros(n_p, dtype=np.int64)
    for k in range(n_m):
        d = int(days_in[k])
        scale = d / 20
        p_abs = np.where((refusal > 0) & (k >= onset), p_ref, p_norm)
        absent = rng.binomial(d, p_abs)
        miss = rng.random(n_p) < p_miss
        arrears = np.where(miss, arrears + 1, np.where(rng.random(n_p) < 0.35, 0, arrears))
        present = k >= entry_month
        idx = np.flatnonzero(present)
        cols["p"].append(idx)
        cols["m"].append(np.full(len(idx), k, dtype=np.int64))
        cols["abs"].append(absent[idx])
        cols["late"].append(rng.poisson(lam_late * scale)[idx])
        cols["early"].append(rng.poisson(lam_early * scale)[idx])
        cols["room"].append(rng.poisson(lam_room * scale)[idx])
        cols["arrears"].append(arrears[idx])
        material_cols.append(np.where(material & (k >= material_from), "有", "無").astype(object)[idx])
        ssw_cols.append(np.where(ssw & (k >= ssw_from), ssw_kind, "").astype(object)[idx])
    p = np.concatenate(cols["p"])
    m = np.concatenate(cols["m"])
    labels = [f"{from_day(int(s)).year:04d}-{from_day(int(s)).month:02d}" for s in starts]
    df = pl.DataFrame(
        {
            "学校コード": pl.Series(sn.codes[sn.school[sel]], dtype=pl.String).gather(p),
            "児童生徒番号": pl.Series(sn.student_no[sel], dtype=pl.String).gather(p),
            "年月": pl.Series(labels, dtype=pl.String).gather(m),
            "欠席日数": pl.Series(np.concatenate(cols["abs"])).cast(pl.String),
            "遅刻回数": _missing_ints(ctx, src, np.concatenate(cols["late"]), rng),
            "早退回数": _missing_ints(ctx, src, np.concatenate(cols["early"]), rng),
            "保健室来室回数": _missing_ints(ctx, src, np.concatenate(cols["room"]), rng),
            "給食費滞納月数": pl.Series(np.concatenate(cols["arrears"])).cast(pl.String),
            "教材費未納": pl.Series(np.concatenate(material_cols), dtype=pl.String),
            "SSW・SC関与": pl.Series(np.concatenate(ssw_cols), dtype=pl.String),
            PID: pl.Series(pupils[p], dtype=pl.Int64),
        }
    )
    breakable = [
        ("欠席日数", NON_NUMERIC, "iso"),
        ("遅刻回数", NON_NUMERIC, "iso"),
        ("教材費未納", UNKNOWN_CODE, "iso"),
    ]
    return _per_school(ctx, src, "kiroku", df, ["児童生徒番号", "年月"], breakable)


def school_chosa(ctx: Context) -> list[Table]:
    src, sn, nd = "school_chosa", ctx.schools, ctx.needs
    rng = ctx.rng(f"export/{src}")
    sel = _public(ctx)
    pupils = sn.pupil[sel]
    n_p = len(sel)
    ability = rng.normal(0, 1, n_p)
    grit = 0.5 * ability + rng.normal(0, 0.85, n_p)
    poverty = (nd.poverty[pupils] > 0).astype(float)
    dev = (nd.developmental[pupils] > 0).astype(float)
    refusal = (nd.school_refusal[pupils] > 0).astype(float)
    maltreated = ((nd.abuse[pupils] > 0) | (nd.neglect[pupils] > 0)).astype(float)
    carer = (nd.young_carer[pupils] > 0).astype(float)
    bullied = nd.bullied[pupils]
    neglect = (nd.neglect[pupils] > 0).astype(float)
    first_grade = np.where(sn.level[sn.school[sel]] == JUNIOR_HIGH, 7, 1)
    frames = []
    for back in (1, 0):
        year = sn.school_year - back
        survey_day = to_day(date(year, 4, 30))
        at_school = (sn.entry_day[sel] <= survey_day) & (sn.grade9[sel] - back >= first_grade)
        idx = np.flatnonzero(at_school)
        # troubles that began this year pull this year's results down: the change is a signal
        now = 1.0 - back
        score = 50 + 10 * (
            0.85 * ability - 0.35 * poverty - 0.6 * dev - (0.2 + 0.4 * now) * refusal - 0.3 * now * maltreated
        )
        score += rng.normal(0, 2.5, n_p)
        nonc = 60 + 12 * (0.6 * grit - 0.4 * maltreated * (0.5 + now) - 0.5 * bullied - 0.4 * refusal - 0.3 * carer)
        nonc += rng.normal(0, 3, n_p)
        caries = rng.poisson(ctx.profile.schools.untreated_caries_mean * (1 + 3 * neglect + poverty))
        bully = np.where(bullied & (rng.random(n_p) < 0.55), "有", np.where(rng.random(n_p) < 0.01, "有", "無")).astype(
            object
        )
        score_text: Arr = np.array([f"{v:.1f}" for v in np.clip(score, 20, 80)], dtype=object)
        score_text[(refusal > 0) & (rng.random(n_p) < 0.6)] = ""  # absent on the test day
        nonc_text: Arr = np.array([f"{v:.1f}" for v in np.clip(nonc, 0, 100)], dtype=object)
        cols = {
            "学校コード": sn.codes[sn.school[sel]][idx],
            "児童生徒番号": sn.student_no[sel][idx],
            "年度": np.full(len(idx), str(year), dtype=object),
            "学力調査偏差値": blank_some(ctx, src, score_text[idx], rng),
            "非認知能力調査得点": blank_some(ctx, src, nonc_text[idx], rng),
            "未処置歯数": ints_text(caries[idx]),
            "いじめアンケート訴え": bully[idx],
        }
        frames.append(frame(cols, pupils[idx]))
    df = pl.concat(frames)
    breakable = [
        ("学力調査偏差値", NON_NUMERIC, "iso"),
        ("未処置歯数", NON_NUMERIC, "iso"),
        ("いじめアンケート訴え", UNKNOWN_CODE, "iso"),
    ]
    return _per_school(ctx, src, "chosa", df, ["児童生徒番号", "年度"], breakable)


def _holidays(year: int) -> set[date]:
    """National holidays and breaks that fall in a school year's autumn–winter (approximate)."""

    def nth_monday(month: int, n: int) -> date:
        d = date(year, month, 1)
        d += timedelta(days=(7 - d.weekday()) % 7)
        return d + timedelta(weeks=n - 1)

    fixed = {date(year, 1, 1), date(year, 2, 11), date(year, 2, 23), date(year, 3, 20), date(year, 4, 29)}
    fixed |= {date(year, 5, 3), date(year, 5, 4), date(year, 5, 5), date(year, 8, 11), date(year, 9, 23)}
    fixed |= {
        date(year, 11, 3),
        date(year, 11, 23),
        nth_monday(1, 2),
        nth_monday(7, 3),
        nth_monday(9, 3),
        nth_monday(10, 2),
    }
    breaks = [
        (date(year, 7, 21), date(year, 8, 31)),
        (date(year, 12, 25), date(year, 12, 31)),
        (date(year, 1, 1), date(year, 1, 7)),
    ]
    breaks += [(date(year, 3, 25), date(year, 4, 6))]
    for lo, hi in breaks:
        fixed |= {lo + timedelta(days=i) for i in range((hi - lo).days + 1)}
    return fixed


def school_days_before(day: int, count: int) -> list[int]:
    d = from_day(day)
    out: list[int] = []
    while len(out) < count:
        if d.weekday() < 5 and d not in _holidays(d.year):
            out.append(to_day(d))
        d -= timedelta(days=1)
    return sorted(out)


def kokoro_tenki(ctx: Context) -> list[Table]:
    src, pop, sn, nd = "kokoro_tenki", ctx.pop, ctx.schools, ctx.needs
    rng = ctx.rng(f"export/{src}")
    sp = ctx.profile.schools
    sel = _public(ctx)
    pupils = sn.pupil[sel]
    n_p = len(sel)
    days = np.array(school_days_before(pop.export_day, sp.kokoro_days), dtype=np.int64)
    joined = rng.random(n_p) < sp.kokoro_participation

    def f(values: Arr) -> np.ndarray:
        return (values[pupils] > 0).astype(float)

    distress = (
        0.9 * f(nd.abuse)
        + 0.8 * nd.bullied[pupils]
        + 0.6 * f(nd.school_refusal)
        + 0.5 * f(nd.young_carer)
        + 0.4 * f(nd.neglect)
    )
    distress = distress + rng.normal(0, 0.3, n_p)
    # some children in difficulty always pick 晴れ: the "safe answer" the criticism describes
    distress = np.where(rng.random(n_p) < 0.3, np.minimum(distress, 0), distress)
    logits = np.stack([1.0 - distress, 0.5 + 0 * distress, -0.8 + distress, -2.2 + 1.2 * distress], axis=1)
    probs = np.exp(logits)
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    absent_p = np.where(nd.school_refusal[pupils] > 0, 0.6, 0.03)
    p_list, d_list, w_list = [], [], []
    entered = sn.entry_day[sel]
    for k, day in enumerate(days):
        answered = joined & (entered <= day) & (rng.random(n_p) < sp.kokoro_answer_rate) & (rng.random(n_p) >= absent_p)
        idx = np.flatnonzero(answered)
        u = rng.random(len(idx))
        weather = (u[:, None] > cum[idx]).sum(axis=1)
        p_list.append(idx)
        d_list.append(np.full(len(idx), k, dtype=np.int64))
        w_list.append(np.minimum(weather, 3))
    p = np.concatenate(p_list)
    # machine-stamped dates: one style, no typing mistakes
    date_labels = format_dates(days, ctx.profile.noise.style(src))
    df = pl.DataFrame(
        {
            "学校コード": pl.Series(sn.codes[sn.school[sel]], dtype=pl.String).gather(p),
            "児童生徒番号": pl.Series(sn.student_no[sel], dtype=pl.String).gather(p),
            "日付": pl.Series(date_labels, dtype=pl.String).gather(np.concatenate(d_list)),
            "天気": pl.Series(["晴れ", "くもり", "雨", "雷"], dtype=pl.String).gather(np.concatenate(w_list)),
            PID: pl.Series(pupils[p], dtype=pl.Int64),
        }
    )
    breakable = [("日付", IMPOSSIBLE_DATE, ctx.profile.noise.style(src)), ("天気", UNKNOWN_CODE, "iso")]
    return [
        Table(
            src,
            file_name(ctx, src),
            df,
            key="児童生徒番号",
            sort=["学校コード", "日付", "児童生徒番号"],
            encoding="utf-8",
            breakable=breakable,
        )
    ]
