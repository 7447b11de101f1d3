"""住民記録 (residents), 異動履歴 (registry events) and 税務 (resident tax) exports."""

from __future__ import annotations

from datetime import date

import numpy as np

from tsunagu.synth.context import Context
from tsunagu.synth.dates import NA, to_day
from tsunagu.synth.exports.common import Arr, IntArr, aza_text, file_name, ints_text, sex_text
from tsunagu.synth.names import lexicon
from tsunagu.synth.noise import address_column, address_text, blank_some, date_column, person_names
from tsunagu.synth.population import DEAD, ELSEWHERE, HH_RESIDENT, MOVED_OUT, RESIDENT, single_parent
from tsunagu.synth.table import IMPOSSIBLE_DATE, INVALID_SEX, NON_NUMERIC, UNKNOWN_CODE, Table, frame

_STATUS_LABEL: Arr = np.array(["住民", "転出", "死亡", ""], dtype=object)


def juki_jumin(ctx: Context) -> Table:
    src, pop = "juki_jumin", ctx.pop
    rng = ctx.rng(f"export/{src}")
    pids = np.flatnonzero(pop.p_status != ELSEWHERE)
    style = ctx.profile.noise.style(src)
    name, kana = person_names(ctx, src, pids, rng=rng, form="half", romaji_dominant=True)
    cols = {
        "宛名番号": aza_text(pop.p_aza[pids]),
        "世帯番号": aza_text(pop.hh_setai[pop.p_hh[pids]]),
        "氏名": name,
        "カナ氏名": kana,
        "生年月日": date_column(ctx, src, pop.p_birth[pids], rng=rng, birth=True),
        "性別": sex_text(ctx, pids),
        "続柄": pop.p_rel[pids],
        "住所": address_column(ctx, src, pids, rng=rng),
        "郵便番号": pop.postal[pop.p_hh[pids]],
        "外国人区分": np.where(pop.p_foreign[pids], "外国人", "日本人").astype(object),
        "住民区分": _STATUS_LABEL[pop.p_status[pids].astype(np.int64)],
        "異動日": date_column(ctx, src, pop.p_last_event_day[pids], rng=rng),
    }
    breakable = [
        ("生年月日", IMPOSSIBLE_DATE, style),
        ("異動日", IMPOSSIBLE_DATE, style),
        ("性別", INVALID_SEX, style),
        ("住民区分", UNKNOWN_CODE, style),
        ("続柄", UNKNOWN_CODE, style),
    ]
    return Table(
        src, file_name(ctx, src), frame(cols, pids), key="宛名番号", sort=["世帯番号", "宛名番号"], breakable=breakable
    )


def _outside(ctx: Context, rng: np.random.Generator, hh: IntArr) -> Arr:
    """The address a household came from or went to, outside the city (one per household)."""
    origins = lexicon().origins
    n_hh = len(ctx.pop.hh_status)
    c = rng.integers(1, 6, n_hh).astype(str).astype(object)
    b = rng.integers(1, 30, n_hh).astype(str).astype(object)
    g = rng.integers(1, 25, n_hh).astype(str).astype(object)
    per_hh: Arr = origins[ctx.pop.hh_origin % len(origins)] + "中央" + c + "丁目" + b + "番" + g + "号"
    out: Arr = per_hh[hh]
    return out


def juki_idou(ctx: Context) -> Table:
    src, pop = "juki_idou", ctx.pop
    rng = ctx.rng(f"export/{src}")
    hh, birth, status = pop.p_hh, pop.p_birth, pop.p_status
    registered = status != ELSEWHERE
    move_in, within = pop.hh_move_in_day[hh], pop.hh_move_within_day[hh]
    changed = pop.p_prev_family != ""
    events: list[tuple[str, IntArr, IntArr]] = []  # (reason, pids, day)

    def add(reason: str, mask: np.ndarray, day: IntArr) -> None:
        idx = np.flatnonzero(mask)
        events.append((reason, idx, day[idx]))

    add("転入", registered & (move_in != NA) & (birth < move_in), move_in)
    add("出生", pop.p_born_here_in_period, birth)
    add("転居", registered & (within != NA) & (birth < within) & (status != MOVED_OUT), within)
    add("氏変更", registered & changed, pop.hh_surname_day[hh])
    add("転出", status == MOVED_OUT, pop.p_status_day)
    add("死亡", status == DEAD, pop.p_status_day)
    reasons: Arr = np.concatenate([np.full(len(e[1]), e[0], dtype=object) for e in events])
    pids = np.concatenate([e[1] for e in events]).astype(np.int64)
    days = np.concatenate([e[2] for e in events]).astype(np.int64)
    p_hh = hh[pids]
    current = address_text(ctx, p_hh, pop.address)
    previous = address_text(ctx, p_hh, pop.prev_address)
    outside = _outside(ctx, rng, p_hh)
    before: Arr = np.full(len(pids), "", dtype=object)
    after: Arr = np.full(len(pids), "", dtype=object)
    for reason, b, a in (
        ("転入", outside, current),
        ("出生", None, current),
        ("転居", previous, current),
        ("氏変更", None, current),
        ("転出", current, outside),
        ("死亡", current, None),
    ):
        mask = reasons == reason
        if b is not None:
            before[mask] = b[mask]
        if a is not None:
            after[mask] = a[mask]
    prev_name: Arr = np.full(len(pids), "", dtype=object)
    name_change = reasons == "氏変更"
    prev_name[name_change] = pop.p_prev_family[pids][name_change] + "　" + pop.hb.p_given[pids][name_change]
    style = ctx.profile.noise.style(src)
    cols = {
        "宛名番号": aza_text(pop.p_aza[pids]),
        "異動事由": reasons,
        "異動日": date_column(ctx, src, days, rng=rng),
        "異動前住所": before,
        "異動後住所": after,
        "異動前氏名": prev_name,
    }
    breakable = [("異動日", IMPOSSIBLE_DATE, style), ("異動事由", UNKNOWN_CODE, style)]
    return Table(
        src, file_name(ctx, src), frame(cols, pids), key="宛名番号", sort=["異動日", "宛名番号"], breakable=breakable
    )


def taxable_income(ctx: Context) -> IntArr:
    """合計所得金額 of each household's taxpayer, from the household economic factor."""
    pop, eco = ctx.pop, ctx.profile.economy
    rng = ctx.rng("income")
    first = pop.hh_first
    econ = ctx.needs.econ[np.minimum(first, pop.n - 1)]
    income = eco.median_income * np.exp(eco.income_sigma * econ + rng.normal(0, 0.1, len(first)))
    on_assistance = ctx.needs.public_assistance
    income = np.where(on_assistance, rng.integers(0, 60, len(first)) * 10_000, income)
    return (np.round(income / 1000) * 1000).astype(np.int64)


def tax_class(ctx: Context, income: IntArr) -> Arr:
    """課税区分 by the 1級地 limits: 35万円×(本人+扶養) + 10万円 (+21万円/32万円 with dependants)."""
    pop = ctx.pop
    resident = (pop.p_status == RESIDENT).astype(np.int64)
    members = np.bincount(pop.p_hh, weights=resident, minlength=len(pop.hh_status)).astype(np.int64)
    deps = np.maximum(members - 1, 0)
    flat = 350_000 * (1 + deps) + 100_000 + np.where(deps > 0, 210_000, 0)
    income_part = 350_000 * (1 + deps) + 100_000 + np.where(deps > 0, 320_000, 0)
    single = single_parent(pop)
    exempt = (income <= flat) | (single & (income <= 1_350_000))
    out: Arr = np.where(exempt, "非課税", np.where(income <= income_part, "均等割のみ", "課税")).astype(object)
    return out


def zeimu_kazei(ctx: Context) -> Table:
    src, pop = "zeimu_kazei", ctx.pop
    rng = ctx.rng(f"export/{src}")
    export_year = int(ctx.profile.export_date.year)
    jan1 = to_day(date(export_year, 1, 1))
    # resident tax is levied by the municipality of residence on 1 January (賦課期日)
    hh = np.flatnonzero((pop.hh_status == HH_RESIDENT) & ~((pop.hh_move_in_day != NA) & (pop.hh_move_in_day > jan1)))
    payer = pop.earner_of_household()[hh]
    keep = payer >= 0
    hh, payer = hh[keep], payer[keep]
    income = taxable_income(ctx)
    klass = tax_class(ctx, income)
    style = ctx.profile.noise.style(src)
    cols = {
        "宛名番号": aza_text(pop.p_aza[payer]),
        "世帯番号": aza_text(pop.hh_setai[hh]),
        "年度": np.full(len(hh), str(export_year), dtype=object),
        "課税区分": klass[hh],
        "合計所得金額": blank_some(ctx, src, ints_text(income[hh]), rng),
    }
    breakable = [("課税区分", UNKNOWN_CODE, style), ("合計所得金額", NON_NUMERIC, style), ("年度", NON_NUMERIC, style)]
    return Table(src, file_name(ctx, src), frame(cols, payer), key="宛名番号", sort=["世帯番号"], breakable=breakable)
