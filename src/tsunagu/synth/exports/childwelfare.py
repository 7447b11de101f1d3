"""こども家庭センター consultations and the prefecture's 児童相談所 cases."""

from __future__ import annotations

import numpy as np

from tsunagu.synth.context import Context
from tsunagu.synth.dates import fiscal_year
from tsunagu.synth.exports.common import Arr, IntArr, aza_text, file_name, guardian_of, pick, sex_text, uniform_days
from tsunagu.synth.households import SLOT_CHILD
from tsunagu.synth.needs import ABUSE_KINDS
from tsunagu.synth.noise import address_column, blank_some, date_column, person_names
from tsunagu.synth.population import CERT_KINDS, DEAD, ELSEWHERE
from tsunagu.synth.table import IMPOSSIBLE_DATE, INVALID_SEX, UNKNOWN_CODE, Table, frame

CENTRE_TYPES = ("養護相談", "育成相談", "障害相談", "非行相談", "保健相談", "その他")
YOTAIKYO = ("要保護児童", "要支援児童", "特定妊婦", "終結")
CGC_TYPES = ("養護相談（虐待）", "養護相談（その他）", "障害相談", "非行相談", "育成相談", "保健相談")
CGC_STATUS = ("受理", "調査中", "援助中", "終結")


def _serials(prefix: IntArr, rng: np.random.Generator, width: int) -> Arr:
    """Case numbers: year + running number, numbered in a shuffled (arrival) order."""
    order = rng.permutation(len(prefix))
    seq = np.empty(len(prefix), dtype=np.int64)
    seq[order] = np.arange(1, len(prefix) + 1)
    return np.array([f"{p}-{s:0{width}d}" for p, s in zip(prefix, seq, strict=True)], dtype=object)


def kodomo_center(ctx: Context) -> Table:
    src, pop, nd, sup = "kodomo_center", ctx.pop, ctx.needs, ctx.profile.support
    rng = ctx.rng(f"export/{src}")
    base = np.flatnonzero(nd.centre & (pop.p_status != DEAD))
    repeats = 1 + np.minimum(rng.poisson(0.3, len(base)), 2)
    rows = np.repeat(base, repeats)
    first = np.r_[True, rows[1:] != rows[:-1]]
    n = len(rows)
    maltreated = (nd.abuse[rows] > 0) | (nd.neglect[rows] > 0)
    severe = (nd.abuse[rows] == 2) | (nd.neglect[rows] == 2)
    pnd = nd.postnatal_depression[rows] > 0
    refusal = nd.school_refusal[rows] > 0
    carer = nd.young_carer[rows] > 0
    dev = nd.developmental[rows] > 0
    teen = nd.age[rows] >= 12
    no_need = rng.choice([1, 5, 4, 3], size=n, p=[0.5, 0.3, 0.15, 0.05])
    no_need = np.where((no_need == 3) & ~teen, 1, no_need)
    kind = np.select([maltreated | carer, pnd, refusal, dev], [0, 4, 1, 2], no_need)
    # a later consultation on the same child is sometimes about something else
    kind = np.where(~first & (rng.random(n) < 0.3), rng.choice([1, 4, 5], size=n), kind)
    abuse_type = np.where(maltreated & (kind == 0), nd.abuse_kind[rows], -1).astype(np.int64)

    closed = rng.random(len(base)) < sup.centre_closed_share
    closed_row = np.repeat(closed, repeats)
    reg = np.full(n, -1, dtype=np.int64)
    reg = np.where(maltreated & severe, 0, reg)
    reg = np.where(maltreated & ~severe & (rng.random(n) < 0.7), 1, reg)
    reg = np.where(carer & (reg < 0) & (rng.random(n) < 0.5), 1, reg)
    reg = np.where(pnd & (nd.poverty[rows] > 0) & (reg < 0) & (rng.random(n) < 0.5), 2, reg)
    reg = np.where(closed_row & (reg >= 0), 3, reg)

    # the first consultation can predate the period; repeats fall inside it
    received = np.where(
        first,
        uniform_days(rng, n, pop.export_day - 3 * 365, pop.export_day),
        uniform_days(rng, n, pop.period_start, pop.export_day),
    )
    received = np.maximum(received, pop.p_birth[rows])
    unregistered = rng.random(n) < sup.centre_unregistered
    aza = aza_text(pop.p_aza[rows])
    aza[unregistered] = ""
    name, kana = person_names(ctx, src, rows, rng=rng, form="full")
    fy = fiscal_year(received)
    style = ctx.profile.noise.style(src)
    cols = {
        "相談番号": _serials(fy, rng, 5),
        "宛名番号": aza,
        "氏名": name,
        "カナ氏名": kana,
        "生年月日": blank_some(ctx, src, date_column(ctx, src, pop.p_birth[rows], rng=rng, birth=True), rng),
        "相談種別": pick(CENTRE_TYPES, kind.astype(np.int64)),
        "虐待種別": pick(ABUSE_KINDS, abuse_type),
        "受付日": date_column(ctx, src, received, rng=rng),
        "要対協登録": pick(YOTAIKYO, reg),
        "支援状況": np.where(closed_row, "終結", "支援中").astype(object),
    }
    breakable = [
        ("生年月日", IMPOSSIBLE_DATE, style),
        ("受付日", IMPOSSIBLE_DATE, style),
        ("相談種別", UNKNOWN_CODE, style),
        ("要対協登録", UNKNOWN_CODE, style),
    ]
    return Table(src, file_name(ctx, src), frame(cols, rows), key="相談番号", sort=["相談番号"], breakable=breakable)


def jisou(ctx: Context) -> Table:
    src, pop, nd, sup = "jisou", ctx.pop, ctx.needs, ctx.profile.support
    rng = ctx.rng(f"export/{src}")
    rows = np.flatnonzero(nd.cgc & (pop.hb.p_slot == SLOT_CHILD) & (pop.p_status != DEAD))
    n = len(rows)
    maltreated = (nd.abuse[rows] > 0) | (nd.neglect[rows] > 0)
    severe = (nd.abuse[rows] == 2) | (nd.neglect[rows] == 2)
    ryoiku = pop.p_cert[rows] == CERT_KINDS.index("療育")
    elsewhere = pop.p_status[rows] == ELSEWHERE
    other = np.where(
        nd.age[rows] >= 12,
        rng.choice([1, 3, 4], size=n, p=[0.4, 0.4, 0.2]),
        rng.choice([1, 4, 5], size=n, p=[0.6, 0.3, 0.1]),
    )
    kind = np.select([maltreated, ryoiku], [0, 2], other)
    mix = rng.choice(len(CGC_TYPES), size=n, p=[0.5, 0.1, 0.25, 0.05, 0.07, 0.03])
    kind = np.where(elsewhere, mix, kind).astype(np.int64)
    abuse_case = kind == 0
    protect = abuse_case & (rng.random(n) < np.where(severe, 1.5, 0.6) * sup.cgc_protection_share)
    status = rng.choice(len(CGC_STATUS), size=n, p=[0.1, 0.2, 0.4, 0.3]).astype(np.int64)
    received = np.maximum(uniform_days(rng, n, pop.export_day - 2 * 365, pop.export_day), pop.p_birth[rows])
    name, kana = person_names(ctx, src, rows, rng=rng, form="hira", cp932=False)
    guardian = guardian_of(ctx, rows)
    g_name, _ = person_names(ctx, src, guardian, rng=rng, form=None, cp932=False)
    address = address_column(ctx, src, rows, rng=rng)
    # the prefecture writes the prefecture name before the municipality's
    city = ctx.profile.municipality.name
    in_city = np.array([str(a).startswith(city) for a in address], dtype=bool)
    address[in_city] = "つなぐ県" + address[in_city]
    style = ctx.profile.noise.style(src)
    cols = {
        "ケース番号": _serials(fiscal_year(received), rng, 4),
        "氏名": name,
        "ふりがな": kana,
        "生年月日": date_column(ctx, src, pop.p_birth[rows], rng=rng, birth=True),
        "性別": sex_text(ctx, rows),
        "住所": address,
        "保護者氏名": blank_some(ctx, src, g_name, rng),
        "相談種別": pick(CGC_TYPES, kind),
        "受理日": date_column(ctx, src, received, rng=rng),
        "一時保護": np.where(protect, "有", "無").astype(object),
        "対応状況": pick(CGC_STATUS, status),
    }
    breakable = [
        ("生年月日", IMPOSSIBLE_DATE, style),
        ("受理日", IMPOSSIBLE_DATE, style),
        ("性別", INVALID_SEX, style),
        ("相談種別", UNKNOWN_CODE, style),
        ("一時保護", UNKNOWN_CODE, style),
    ]
    return Table(
        src,
        file_name(ctx, src),
        frame(cols, rows),
        key="ケース番号",
        sort=["ケース番号"],
        encoding="utf-8",
        breakable=breakable,
    )
