"""学齢簿 (school-age register) and 就学援助 (school aid) exports of the board of education."""

from __future__ import annotations

from datetime import date

import numpy as np

from tsunagu.synth.context import Context
from tsunagu.synth.dates import NA, to_day
from tsunagu.synth.exports.common import aza_text, file_name, guardian_of, ints_text, sex_text
from tsunagu.synth.noise import address_column, blank_some, date_column, person_names
from tsunagu.synth.table import IMPOSSIBLE_DATE, INVALID_SEX, NON_NUMERIC, UNKNOWN_CODE, Table, frame


def gakureibo(ctx: Context) -> Table:
    src, pop, sn = "gakureibo", ctx.pop, ctx.schools
    rng = ctx.rng(f"export/{src}")
    rows = sn.pupil
    name, kana = person_names(ctx, src, rows, rng=rng, form="full")
    guardian = guardian_of(ctx, rows)
    guardian_name, _ = person_names(ctx, src, guardian, rng=rng, form=None)
    style = ctx.profile.noise.style(src)
    cols = {
        "宛名番号": aza_text(pop.p_aza[rows]),
        "氏名": name,
        "カナ氏名": kana,
        "生年月日": date_column(ctx, src, pop.p_birth[rows], rng=rng, birth=True),
        "性別": sex_text(ctx, rows),
        "住所": address_column(ctx, src, rows, rng=rng),
        "学校コード": sn.codes[sn.school],
        "学年": ints_text(sn.grade),
        "保護者氏名": blank_some(ctx, src, guardian_name, rng),
    }
    breakable = [
        ("生年月日", IMPOSSIBLE_DATE, style),
        ("性別", INVALID_SEX, style),
        ("学年", NON_NUMERIC, style),
    ]
    return Table(
        src,
        file_name(ctx, src),
        frame(cols, rows),
        key="宛名番号",
        sort=["学校コード", "学年", "宛名番号"],
        breakable=breakable,
    )


def shugaku_enjo(ctx: Context) -> Table:
    src, pop, sn, nd = "shugaku_enjo", ctx.pop, ctx.schools, ctx.needs
    rng = ctx.rng(f"export/{src}")
    aid = nd.school_aid[sn.pupil]
    keep = aid > 0
    rows = sn.pupil[keep]
    # applications are decided at the start of the school year, or after arrival for newcomers
    april = to_day(date(sn.school_year, 4, 1))
    decided = april + rng.integers(20, 75, len(rows))
    arrived = pop.hh_move_in_day[pop.p_hh[rows]]
    decided = np.where((arrived != NA) & (arrived > april), arrived + rng.integers(14, 45, len(rows)), decided)
    decided = np.minimum(decided, pop.export_day)
    style = ctx.profile.noise.style(src)
    cols = {
        "宛名番号": aza_text(pop.p_aza[rows]),
        "認定区分": np.where(aid[keep] == 2, "要保護", "準要保護").astype(object),
        "認定日": date_column(ctx, src, decided, rng=rng),
    }
    breakable = [("認定日", IMPOSSIBLE_DATE, style), ("認定区分", UNKNOWN_CODE, style)]
    return Table(src, file_name(ctx, src), frame(cols, rows), key="宛名番号", sort=["宛名番号"], breakable=breakable)
