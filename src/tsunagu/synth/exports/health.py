"""母子保健, 予防接種 and 保育 exports."""

from __future__ import annotations

import numpy as np

from tsunagu.synth.context import Context
from tsunagu.synth.dates import NA
from tsunagu.synth.exports.common import Arr, BoolArr, IntArr, aza_text, file_name, ints_text, uniform_days
from tsunagu.synth.households import SLOT_CHILD, SLOT_MOTHER
from tsunagu.synth.names import lexicon
from tsunagu.synth.noise import blank_some, date_column
from tsunagu.synth.population import RESIDENT
from tsunagu.synth.table import IMPOSSIBLE_DATE, NON_NUMERIC, UNKNOWN_CODE, Table, frame


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _checkup(
    rng: np.random.Generator,
    rate: float,
    risk: np.ndarray,
    age_days: IntArr,
    window: tuple[int, int],
    arrived: IntArr,
    birth: IntArr,
) -> Arr:
    """受診 / 未受診 once the check-up is overdue, often 受診 inside its window, blank before it."""
    n = len(age_days)
    base = np.log((1 - rate) / rate)
    missed = rng.random(n) < _sigmoid(base + risk)
    start, end = window
    out: Arr = np.full(n, "", dtype=object)
    due = age_days >= end
    out[due] = np.where(missed[due], "未受診", "受診")
    early = (age_days >= start) & ~due & (rng.random(n) < 0.6) & ~missed
    out[early] = "受診"
    # a check-up due before the family moved here was held elsewhere: no record in this city
    before_arrival = (arrived != NA) & (birth + end < arrived)
    out[before_arrival] = ""
    return out


def boshi_hoken(ctx: Context) -> Table:
    src, pop, nd, hp = "boshi_hoken", ctx.pop, ctx.needs, ctx.profile.health
    rng = ctx.rng(f"export/{src}")
    rows = np.flatnonzero((pop.hb.p_slot == SLOT_CHILD) & (pop.p_status == RESIDENT) & (nd.age <= 5))
    n = len(rows)
    birth = pop.p_birth[rows]
    age_days = pop.export_day - birth
    arrived = pop.hh_move_in_day[pop.p_hh[rows]]
    born_elsewhere = (arrived != NA) & (birth < arrived)
    neglect = (nd.neglect[rows] > 0).astype(float)
    poverty = (nd.poverty[rows] > 0).astype(float)
    foreign = pop.p_foreign[rows].astype(float)
    pnd = nd.postnatal_depression[rows] > 0
    risk = 2.2 * neglect + 0.6 * poverty + 0.5 * foreign + 0.6 * pnd
    c4 = _checkup(rng, hp.checkup_4m_rate, risk, age_days, (120, 183), arrived, birth)
    c18 = _checkup(rng, hp.checkup_18m_rate, risk, age_days, (548, 730), arrived, birth)
    c3 = _checkup(rng, hp.checkup_3y_rate, risk, age_days, (1095, 1460), arrived, birth)
    ctx.facts["checkups"] = (rows.copy(), c4.copy(), c18.copy(), c3.copy())

    mother_of_hh = pop.member_of(SLOT_MOTHER)
    mother = mother_of_hh[pop.p_hh[rows]]
    mother_aza: Arr = np.where(mother >= 0, aza_text(pop.p_aza[np.maximum(mother, 0)]), "").astype(object)

    late_base = np.log(hp.late_notification_rate / (1 - hp.late_notification_rate))
    late = rng.random(n) < _sigmoid(late_base + 1.5 * neglect + 0.7 * poverty + 0.6 * foreign)
    weeks = np.where(
        late, rng.integers(12, 29, n), rng.choice(np.arange(5, 12), size=n, p=[0.02, 0.08, 0.2, 0.28, 0.24, 0.12, 0.06])
    )
    week_text: Arr = ints_text(weeks)
    week_text[born_elsewhere] = ""

    not_visited_base = np.log((1 - hp.newborn_visit_rate) / hp.newborn_visit_rate)
    not_visited = rng.random(n) < _sigmoid(not_visited_base + 1.8 * neglect + 0.8 * pnd + 0.4 * foreign)
    refused = rng.random(n) < hp.visit_refusal_share
    visit: Arr = np.where(not_visited, np.where(refused, "不在・拒否", "未実施"), "訪問済").astype(object)
    visit[born_elsewhere | (age_days < 28)] = ""

    # EPDS at the newborn visit: ≥9 points is the usual screening cut-off
    epds = np.where(pnd, 9 + rng.poisson(4, n), np.minimum(rng.poisson(3, n), 12))
    epds_text: Arr = ints_text(np.minimum(epds, 30))
    epds_text[(visit != "訪問済") | (nd.age[rows] > 1)] = ""
    epds_text = blank_some(ctx, src, epds_text, rng)

    record = np.minimum(pop.export_day - rng.integers(0, 200, n), pop.export_day)
    record = np.maximum(record, birth + 1)
    style = ctx.profile.noise.style(src)
    cols = {
        "宛名番号": aza_text(pop.p_aza[rows]),
        "母宛名番号": mother_aza,
        "妊娠届出週数": week_text,
        "4か月児健診": c4,
        "1歳6か月児健診": c18,
        "3歳児健診": c3,
        "新生児訪問": visit,
        "EPDS得点": epds_text,
        "記録日": date_column(ctx, src, record, rng=rng),
    }
    breakable = [
        ("記録日", IMPOSSIBLE_DATE, style),
        ("妊娠届出週数", NON_NUMERIC, style),
        ("4か月児健診", UNKNOWN_CODE, style),
        ("新生児訪問", UNKNOWN_CODE, style),
    ]
    return Table(src, file_name(ctx, src), frame(cols, rows), key="宛名番号", sort=["宛名番号"], breakable=breakable)


def yobou_sesshu(ctx: Context) -> Table:
    src, pop, nd = "yobou_sesshu", ctx.pop, ctx.needs
    rng = ctx.rng(f"export/{src}")
    rows = np.flatnonzero((pop.hb.p_slot == SLOT_CHILD) & (pop.p_status == RESIDENT) & (nd.age <= 12))
    neglect = (nd.neglect[rows] > 0).astype(float)
    poverty = (nd.poverty[rows] > 0).astype(float)
    foreign = pop.p_foreign[rows].astype(float)
    moved_in = (pop.hh_move_in_day[pop.p_hh[rows]] != NA).astype(float)
    mean = ctx.profile.health.vaccination_missing_mean * (1 + 6 * neglect + poverty + foreign + moved_in)
    missing = np.minimum(rng.poisson(mean), 12)
    ctx.facts["vaccinations"] = (rows.copy(), missing.copy())
    style = ctx.profile.noise.style(src)
    cols = {
        "宛名番号": aza_text(pop.p_aza[rows]),
        "未接種数": ints_text(missing),
        "基準日": date_column(ctx, src, np.full(len(rows), pop.export_day, dtype=np.int64), rng=rng),
    }
    breakable = [("未接種数", NON_NUMERIC, style), ("基準日", IMPOSSIBLE_DATE, style)]
    return Table(src, file_name(ctx, src), frame(cols, rows), key="宛名番号", sort=["宛名番号"], breakable=breakable)


def nursery_enrolled(ctx: Context) -> BoolArr:
    pop, nd = ctx.pop, ctx.needs
    rng = ctx.rng("nursery")
    rates = np.array(ctx.profile.health.nursery_rate_by_age)
    age = np.clip(nd.age, 0, 5)
    # single parents get priority points; neglected children are enrolled less often
    odds = rates[age] / (1 - rates[age]) * np.where(np.isin(pop.hb.kind[pop.p_hh], (1, 2)), 2.0, 1.0)
    odds = odds * np.where(nd.neglect > 0, 0.5, 1.0)
    p = odds / (1 + odds)
    child = (pop.hb.p_slot == SLOT_CHILD) & (pop.p_status == RESIDENT) & (nd.age >= 0) & (nd.age <= 5)
    enrolled: BoolArr = child & (rng.random(pop.n) < p) & (pop.export_day - pop.p_birth >= 57)
    return enrolled


def hoiku(ctx: Context) -> Table:
    src, pop, nd = "hoiku", ctx.pop, ctx.needs
    rng = ctx.rng(f"export/{src}")
    rows = np.flatnonzero(nursery_enrolled(ctx))
    n = len(rows)
    nurseries = lexicon().nurseries
    facility = nurseries[(pop.address.town[pop.p_hh[rows]] * 7 + rng.integers(0, 3, n)) % len(nurseries)]
    birth = pop.p_birth[rows]
    earliest = birth + 57  # 産休明け
    start = uniform_days(rng, n, earliest, pop.export_day)
    arrived = pop.hh_move_in_day[pop.p_hh[rows]]
    start = np.where((arrived != NA) & (start < arrived), arrived + 14, start)
    start = np.minimum(start, pop.export_day)
    neglect = nd.neglect[rows] > 0
    rate = np.where(neglect, rng.normal(72, 12, n), rng.normal(92, 5, n))
    rate = np.where(nd.postnatal_depression[rows] > 0, rate - 8, rate)
    rate_text: Arr = np.array([f"{v:.1f}" for v in np.clip(rate, 0, 100)], dtype=object)
    style = ctx.profile.noise.style(src)
    cols = {
        "宛名番号": aza_text(pop.p_aza[rows]),
        "施設名": facility,
        "入所日": date_column(ctx, src, start, rng=rng),
        "出席率": blank_some(ctx, src, rate_text, rng),
    }
    breakable = [("入所日", IMPOSSIBLE_DATE, style), ("出席率", NON_NUMERIC, style)]
    return Table(
        src,
        file_name(ctx, src, "xlsx"),
        frame(cols, rows),
        key="宛名番号",
        sort=["宛名番号"],
        fmt="xlsx",
        encoding="utf-8",
        breakable=breakable,
    )
