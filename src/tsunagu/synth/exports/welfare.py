"""生活保護, 児童扶養手当, 児童手当, 障害福祉 and 介護保険 exports."""

from __future__ import annotations

import numpy as np

from tsunagu.synth.context import Context
from tsunagu.synth.dates import NA
from tsunagu.synth.exports.common import aza_text, file_name, pick, uniform_days
from tsunagu.synth.exports.registry import taxable_income
from tsunagu.synth.households import SLOT_CHILD
from tsunagu.synth.noise import date_column, person_names
from tsunagu.synth.population import CARE_LEVELS, CERT_KINDS, DEAD, HH_RESIDENT, MOVED_OUT, RESIDENT, single_parent
from tsunagu.synth.table import IMPOSSIBLE_DATE, UNKNOWN_CODE, Table, frame


def seiho_jukyu(ctx: Context) -> Table:
    src, pop = "seiho_jukyu", ctx.pop
    rng = ctx.rng(f"export/{src}")
    on = ctx.needs.public_assistance
    members = np.flatnonzero(on[pop.p_hh] & (pop.p_status == RESIDENT))
    hh = np.unique(pop.p_hh[members])
    case_no = np.zeros(len(on), dtype=np.int64)
    case_no[hh] = 1 + rng.permutation(len(hh))
    start = pop.export_day - rng.integers(60, 8 * 365, len(on))
    ended = rng.random(len(on)) < ctx.profile.economy.public_assistance_ended_rate
    end = np.where(ended, uniform_days(rng, len(on), pop.period_start, pop.export_day), NA)
    youngest = np.full(len(on), np.iinfo(np.int64).min)
    np.maximum.at(youngest, pop.p_hh[members], pop.p_birth[members])
    start = np.maximum(start, np.minimum(youngest + 1, pop.export_day - 30))
    p_hh = pop.p_hh[members]
    name, _ = person_names(ctx, src, members, rng=rng, form=None)
    style = ctx.profile.noise.style(src)
    cols = {
        "ケース番号": np.array([f"S{c:06d}" for c in case_no[p_hh]], dtype=object),
        "宛名番号": aza_text(pop.p_aza[members]),
        "氏名": name,
        "生年月日": date_column(ctx, src, pop.p_birth[members], rng=rng, birth=True),
        "保護開始日": date_column(ctx, src, start[p_hh], rng=rng),
        "保護廃止日": date_column(ctx, src, end[p_hh], rng=rng),
    }
    breakable = [("生年月日", IMPOSSIBLE_DATE, style), ("保護開始日", IMPOSSIBLE_DATE, style)]
    return Table(
        src,
        file_name(ctx, src),
        frame(cols, members),
        key="宛名番号",
        sort=["ケース番号", "宛名番号"],
        breakable=breakable,
    )


def jifu_teate(ctx: Context) -> Table:
    """児童扶養手当: limits from the 2024 revision (全部支給 所得97万円, 一部支給 208万円, +38万円 per extra child)."""
    src, pop = "jifu_teate", ctx.pop
    rng = ctx.rng(f"export/{src}")
    income = taxable_income(ctx)
    single = single_parent(pop)
    takes = rng.random(len(single)) < ctx.profile.economy.child_rearing_allowance_takeup
    child = (pop.hb.p_slot == SLOT_CHILD) & (pop.p_status == RESIDENT)
    kids = np.bincount(pop.p_hh[child], minlength=len(single))
    extra = np.maximum(kids - 1, 0) * 380_000
    status = np.where(
        income <= 970_000 + extra, "全部支給", np.where(income <= 2_080_000 + extra, "一部支給", "支給停止")
    ).astype(object)
    hh_ok = single & takes & (pop.hh_status == HH_RESIDENT)
    ctx.facts["jifu"] = (hh_ok.copy(), status.copy())
    rows = np.flatnonzero(child & hh_ok[pop.p_hh])
    recipient = pop.guardian_of_household()[pop.p_hh[rows]]
    single_day = np.where(
        pop.hh_surname_day != NA, pop.hh_surname_day, pop.export_day - rng.integers(200, 10 * 365, len(single))
    )
    certified = np.maximum(single_day[pop.p_hh[rows]], pop.p_birth[rows]) + rng.integers(10, 60, len(rows))
    certified = np.minimum(certified, pop.export_day)
    name, _ = person_names(ctx, src, rows, rng=rng, form=None)
    style = ctx.profile.noise.style(src)
    cols = {
        "受給者宛名番号": aza_text(pop.p_aza[recipient]),
        "児童宛名番号": aza_text(pop.p_aza[rows]),
        "児童氏名": name,
        "認定日": date_column(ctx, src, certified, rng=rng),
        "支給状況": status[pop.p_hh[rows]],
    }
    breakable = [("認定日", IMPOSSIBLE_DATE, style), ("支給状況", UNKNOWN_CODE, style)]
    return Table(
        src,
        file_name(ctx, src),
        frame(cols, rows),
        key="児童宛名番号",
        sort=["受給者宛名番号", "児童宛名番号"],
        breakable=breakable,
    )


def jidou_teate(ctx: Context) -> Table:
    src, pop = "jidou_teate", ctx.pop
    child = pop.hb.p_slot == SLOT_CHILD
    rows = np.flatnonzero(child & np.isin(pop.p_status, (RESIDENT, MOVED_OUT, DEAD)))
    recipient = pop.earner_of_household()[pop.p_hh[rows]]
    cols = {
        "児童宛名番号": aza_text(pop.p_aza[rows]),
        "受給者宛名番号": aza_text(pop.p_aza[recipient]),
        "受給状況": np.where(pop.p_status[rows] == RESIDENT, "受給中", "消滅").astype(object),
    }
    style = ctx.profile.noise.style(src)
    breakable = [("受給状況", UNKNOWN_CODE, style)]
    return Table(
        src,
        file_name(ctx, src, "xlsx"),
        frame(cols, rows),
        key="児童宛名番号",
        sort=["受給者宛名番号", "児童宛名番号"],
        fmt="xlsx",
        encoding="utf-8",
        breakable=breakable,
    )


def shogai(ctx: Context) -> Table:
    src, pop = "shogai", ctx.pop
    rng = ctx.rng(f"export/{src}")
    service = ctx.needs.child_service
    rows = np.flatnonzero(((pop.p_cert >= 0) | service) & np.isin(pop.p_status, (RESIDENT, DEAD)))
    service_start = pop.p_birth + (np.maximum(ctx.needs.age, 2) * 365 * rng.random(pop.n)).astype(np.int64)
    issued = np.where(pop.p_cert >= 0, pop.p_cert_day, np.minimum(service_start, pop.export_day - 1))
    style = ctx.profile.noise.style(src)
    cols = {
        "宛名番号": aza_text(pop.p_aza[rows]),
        "手帳種別": pick(CERT_KINDS, pop.p_cert[rows].astype(np.int64)),
        "障害児通所": np.where(service[rows], "有", "無").astype(object),
        "交付日": date_column(ctx, src, issued[rows], rng=rng),
    }
    breakable = [("交付日", IMPOSSIBLE_DATE, style), ("障害児通所", UNKNOWN_CODE, style)]
    return Table(src, file_name(ctx, src), frame(cols, rows), key="宛名番号", sort=["宛名番号"], breakable=breakable)


def kaigo(ctx: Context) -> Table:
    src, pop = "kaigo", ctx.pop
    rng = ctx.rng(f"export/{src}")
    rows = np.flatnonzero((pop.p_care_level >= 0) & np.isin(pop.p_status, (RESIDENT, DEAD)))
    style = ctx.profile.noise.style(src)
    cols = {
        "宛名番号": aza_text(pop.p_aza[rows]),
        "世帯番号": aza_text(pop.hh_setai[pop.p_hh[rows]]),
        "要介護度": pick(CARE_LEVELS, pop.p_care_level[rows].astype(np.int64)),
        "認定日": date_column(ctx, src, pop.p_care_day[rows], rng=rng),
    }
    breakable = [("認定日", IMPOSSIBLE_DATE, style), ("要介護度", UNKNOWN_CODE, style)]
    return Table(src, file_name(ctx, src), frame(cols, rows), key="宛名番号", sort=["宛名番号"], breakable=breakable)
