"""Truth of programme eligibility and take-up (truth/programmes.csv), from the true circumstances.

Each resident child gets one row per programme: ``eligible`` (the law applied to what is really
true of the family — income before any blank cell, the household as it really is, newcomers'
income that the municipality's tax office never saw) and ``receiving`` (1/0, blank where no
department records receipt). The exports are unchanged: receipt is what the exports say.

The legal lines are the same statutes the eligibility rules cite (rules/baseline/outreach); the
town's own decision is the 就学援助 multiplier, here 1.3 — the multiplier most municipalities use
(文部科学省「就学援助実施状況等調査」). Nothing here is read by the rules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from tsunagu.synth.context import Context
from tsunagu.synth.exports.health import nursery_enrolled
from tsunagu.synth.exports.registry import tax_class, taxable_income
from tsunagu.synth.households import SLOT_CHILD, SLOT_GRANDFATHER, SLOT_GRANDMOTHER
from tsunagu.synth.population import RESIDENT, single_parent

SCHOOL_AID_MULTIPLIER = 1.3
# 生活保護基準（1級地-1、生活扶助 第1類・第2類・児童養育加算の年額の概算）by household size, 6+ adds a step.
PA_STANDARD = {1: 920_000, 2: 1_500_000, 3: 1_900_000, 4: 2_300_000, 5: 2_650_000, 6: 3_000_000}
PA_STANDARD_STEP = 350_000
# 児童扶養手当法施行令 第2条の4（令和6年11月〜）: 一部支給の所得制限 208万円 + 38万円 × 扶養親族等の数.
JIFU_PARTIAL_BASE = 2_080_000
JIFU_DEPENDANT_STEP = 380_000
PROGRAMMES = ("school_aid", "child_rearing_allowance", "child_allowance", "single_parent_medical", "checkup_4m",
              "checkup_18m", "checkup_3y", "vaccination", "nursery", "temporary_care")


def pa_standard(size: np.ndarray) -> np.ndarray:
    table = np.array([PA_STANDARD[min(max(int(s), 1), 6)] for s in range(0, 7)], dtype=np.int64)
    capped = np.clip(size, 1, 6)
    out: np.ndarray = table[capped] + np.maximum(size - 6, 0) * PA_STANDARD_STEP
    return out


def _per_child(ctx: Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """programme -> (eligible, receiving) over all persons (receiving -1 where unrecorded)."""
    pop, nd, sn = ctx.pop, ctx.needs, ctx.schools
    n, hh = pop.n, pop.p_hh
    resident = (pop.p_status == RESIDENT).astype(np.int64)
    size = np.bincount(hh, weights=resident, minlength=len(pop.hh_status)).astype(np.int64)
    kids_mask = (pop.hb.p_slot == SLOT_CHILD) & (pop.p_status == RESIDENT)
    kids = np.bincount(hh[kids_mask], minlength=len(pop.hh_status)).astype(np.int64)
    income = taxable_income(ctx)
    exempt = tax_class(ctx, income) == "非課税"
    single = single_parent(pop)
    takes, status = ctx.facts["jifu"]
    jifu_now = takes & np.isin(status, ("全部支給", "一部支給"))
    child = pop.child_mask()
    age = nd.age
    pupil = np.zeros(n, dtype=bool)
    pupil[sn.pupil] = True
    unknown = np.full(n, -1, dtype=np.int64)

    line = SCHOOL_AID_MULTIPLIER * pa_standard(size)
    aid_ground = nd.public_assistance | exempt | jifu_now | (income <= line)
    jifu_income = income <= JIFU_PARTIAL_BASE + JIFU_DEPENDANT_STEP * kids
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "school_aid": (pupil & aid_ground[hh], (nd.school_aid > 0).astype(np.int64)),
        "child_rearing_allowance": (child & single[hh] & jifu_income[hh], jifu_now[hh].astype(np.int64)),
        # every resident child is on the 児童手当 export as 受給中 (no take-up gap is modelled)
        "child_allowance": (child & (age < 18), np.ones(n, dtype=np.int64)),
        "single_parent_medical": (child & single[hh] & jifu_income[hh], unknown),
    }
    rows, c4, c18, c3 = ctx.facts["checkups"]
    for name, values in (("checkup_4m", c4), ("checkup_18m", c18), ("checkup_3y", c3)):
        eligible, receiving = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64)
        eligible[rows] = values != ""
        receiving[rows] = (values == "受診").astype(np.int64)
        out[name] = (eligible & child, receiving)
    vrows, missing = ctx.facts["vaccinations"]
    v_eligible, v_receiving = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64)
    v_eligible[vrows] = True
    v_receiving[vrows] = (missing == 0).astype(np.int64)
    out["vaccination"] = (v_eligible & child, v_receiving)
    enrolled = nursery_enrolled(ctx)
    elder = (pop.hb.p_slot == SLOT_GRANDFATHER) | (pop.hb.p_slot == SLOT_GRANDMOTHER)
    care = np.zeros(len(pop.hh_status), dtype=bool)
    care[hh[elder & (pop.p_care_level >= 2) & (pop.p_status == RESIDENT)]] = True  # 要介護1以上
    preschool = child & (age >= 0) & (age <= 5)
    out["nursery"] = (preschool & (single[hh] | care[hh]), enrolled.astype(np.int64))
    out["temporary_care"] = (preschool & ~enrolled, unknown)
    return out


def write_programmes(ctx: Context, out: Path) -> None:
    pop = ctx.pop
    idx = np.flatnonzero(pop.child_mask())
    person = "P" + pl.Series(idx + 1).cast(pl.String).str.zfill(8)
    household = "H" + pl.Series(pop.p_hh[idx] + 1).cast(pl.String).str.zfill(8)
    frames = []
    for name, (eligible, receiving) in _per_child(ctx).items():
        rec = receiving[idx]
        frames.append(pl.DataFrame({
            "person_id": person, "household_id": household, "programme": name,
            "eligible": eligible[idx].astype(np.int64),
            "receiving": pl.Series([None if r < 0 else int(r) for r in rec], dtype=pl.Int64),
        }))
    pl.concat(frames).write_csv(out / "programmes.csv")
