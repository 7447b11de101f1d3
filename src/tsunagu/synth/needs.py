"""Latent needs of each child, the true support tier, and which support bodies know the child.

Needs come from a latent-factor logistic model: a household economic factor (poverty, public
assistance, school aid) and a household family-stress factor raise neglect, abuse and school
refusal; care needs and disability in the household raise young caring. Each intercept is solved
so the realised prevalence equals the profile's target, so the coefficients only shape who is
affected, not how many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tsunagu.synth.households import SLOT_CHILD, SLOT_GRANDFATHER, SLOT_GRANDMOTHER
from tsunagu.synth.population import CERT_KINDS, ELSEWHERE, RESIDENT, Population, ages, single_parent
from tsunagu.synth.schools import grade9_of

Arr = npt.NDArray[Any]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]
FloatArr = npt.NDArray[np.float64]

TIERS = ("重点支援", "予防的支援", "見守り", "対象外")
NEED_NAMES = ("poverty", "neglect", "abuse", "school_refusal", "young_carer", "developmental", "postnatal_depression")


def _sigmoid(x: FloatArr) -> FloatArr:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def calibrated(rng: np.random.Generator, linear: FloatArr, target: float, among: BoolArr) -> BoolArr:
    """Draw Bernoulli(sigmoid(a + linear)) with ``a`` solved so the mean over ``among`` is ``target``."""
    if target <= 0 or not among.any():
        return np.zeros(len(linear), dtype=bool)
    lo, hi = -30.0, 30.0
    sub = linear[among]
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(_sigmoid(mid + sub).mean()) < target:
            lo = mid
        else:
            hi = mid
    return rng.random(len(linear)) < _sigmoid((lo + hi) / 2 + linear)


@dataclass
class Needs:
    """Arrays over all persons; only children (slot CHILD) carry values."""

    age: IntArr
    grade9: IntArr
    econ: FloatArr  # household economic factor (low = poor)
    family: FloatArr  # household family-stress factor (high = stressed)
    poverty: Arr  # 0 none, 1 relative poverty, 2 public assistance
    public_assistance: BoolArr  # per household
    school_aid: Arr  # 0 none, 1 準要保護, 2 要保護 (pupils)
    neglect: Arr
    abuse: Arr
    abuse_kind: Arr  # index into ABUSE_KINDS, -1 none
    school_refusal: Arr
    young_carer: Arr
    developmental: Arr
    postnatal_depression: Arr
    bullied: BoolArr
    child_service: BoolArr
    care_need_hh: BoolArr  # per household
    disability_hh: BoolArr  # per household
    tier: Arr  # index into TIERS
    needs_support: BoolArr
    centre: BoolArr
    cgc: BoolArr
    ssw: BoolArr
    known: BoolArr


ABUSE_KINDS = ("身体的虐待", "性的虐待", "ネグレクト", "心理的虐待")


def severity(rng: np.random.Generator, flag: BoolArr, family: FloatArr, severe_share: float) -> Arr:
    logit = np.log(severe_share / (1 - severe_share)) + 0.6 * family
    severe = rng.random(len(flag)) < _sigmoid(logit)
    return np.where(flag, np.where(severe, 2, 1), 0).astype(np.int8)


def support_tier(
    abuse: Arr, neglect: Arr, refusal: Arr, carer: Arr, pnd: Arr, developmental: Arr, poverty: Arr, child: BoolArr
) -> Arr:
    """The true support tier (index into TIERS) from the severities of the latent needs."""
    maltreated = (abuse > 0) | (neglect > 0)
    score = (
        2 * maltreated + (abuse == 2) + (neglect == 2) + refusal + carer + pnd + (developmental > 0) + poverty
    ).astype(np.int64)
    any_severe = (refusal == 2) | (carer == 2) | (pnd == 2)
    tier = np.select(
        [(abuse == 2) | (neglect == 2) | (score >= 5), maltreated | (score >= 3) | any_severe, score >= 1],
        [0, 1, 2],
        3,
    ).astype(np.int8)
    tier[~child] = 3
    return tier


def build_needs(pop: Population, public_pupil: BoolArr, rng: np.random.Generator) -> Needs:
    """``public_pupil``: persons enrolled at a municipal school (the only ones an SSW/SC sees)."""
    prof = pop.profile
    eco, nd, fx, sup = prof.economy, prof.needs, prof.needs.effects, prof.support
    n, n_hh = pop.n, len(pop.hh_status)
    hh = pop.p_hh
    child = pop.hb.p_slot == SLOT_CHILD
    counted = child & (pop.p_status == RESIDENT)
    idx = np.arange(n, dtype=np.int64)
    age = np.where(child, ages(pop, idx), -1)
    g9 = np.where(child, grade9_of(pop, idx), 0)
    pupil = counted & (g9 >= 1) & (g9 <= 9)
    elem, jhs = pupil & (g9 <= 6), pupil & (g9 > 6)

    single_hh = single_parent(pop)
    foreign_hh = pop.hb.foreign
    adult_cert_hh = np.zeros(n_hh, dtype=bool)
    adult_cert_hh[hh[(pop.p_cert >= 0) & ~child]] = True
    elder = (pop.hb.p_slot == SLOT_GRANDFATHER) | (pop.hb.p_slot == SLOT_GRANDMOTHER)
    care_hh = np.zeros(n_hh, dtype=bool)
    care_hh[hh[elder & (pop.p_care_level >= 0) & (pop.p_status == RESIDENT)]] = True

    family_h = rng.normal(0.0, 1.0, n_hh)
    econ_h = (
        rng.normal(0.0, 1.0, n_hh)
        - fx.family_factor_on_poverty * family_h
        + eco.single_parent_effect * single_hh
        + eco.foreign_effect * foreign_hh
        + eco.disability_effect * adult_cert_hh
        + eco.three_generation_effect * pop.hb.three_gen
    )
    econ = econ_h[hh]
    fam = family_h[hh]
    # thresholds are quantiles over counted children, so the rates are shares of children
    t_pov = float(np.quantile(econ[counted], eco.poverty_rate)) if counted.any() else -np.inf
    t_pa = float(np.quantile(econ[counted], eco.public_assistance_rate)) if counted.any() else -np.inf
    public_assistance = econ_h <= t_pa
    poverty = np.where(child & (econ <= t_pa), 2, np.where(child & (econ <= t_pov), 1, 0)).astype(np.int8)
    aid_share = min(1.0, eco.school_aid_rate / eco.school_aid_takeup)
    t_aid = float(np.quantile(econ[pupil], aid_share)) if pupil.any() else -np.inf
    takes = rng.random(n) < eco.school_aid_takeup
    school_aid = np.where(pupil & public_assistance[hh], 2, np.where(pupil & (econ <= t_aid) & takes, 1, 0)).astype(
        np.int8
    )

    pov = (poverty > 0).astype(np.float64)
    single = single_hh[hh].astype(np.float64)
    male = (pop.p_sex == 0).astype(np.float64)
    dev_flag = calibrated(rng, fx.boy_on_developmental * male + 0.2 * pov, nd.developmental_rate, pupil)
    dev_flag &= child & (age >= 3)
    developmental = severity(rng, dev_flag, np.zeros(n), nd.severe_share)
    hp = prof.health
    cert_child = dev_flag & (
        rng.random(n) < min(1.0, 0.8 * hp.child_certificate_rate / max(nd.developmental_rate, 1e-9))
    )
    cert_child |= child & (age >= 0) & (rng.random(n) < 0.2 * hp.child_certificate_rate)
    pop.p_cert[cert_child & (pop.p_cert < 0)] = np.where(dev_flag, 1, 0)[cert_child & (pop.p_cert < 0)]
    cert_day = pop.p_birth + (np.maximum(age, 1) * 365 * rng.random(n)).astype(np.int64) + 200
    pop.p_cert_day[cert_child] = np.minimum(cert_day, pop.export_day - 1)[cert_child]
    child_service = (
        dev_flag & (rng.random(n) < min(1.0, hp.child_service_rate / max(nd.developmental_rate, 1e-9))) & (age <= 17)
    )
    disability_hh = adult_cert_hh.copy()
    disability_hh[hh[cert_child]] = True

    step = pop.hb.stepfamily[hh].astype(np.float64)
    dev = dev_flag.astype(np.float64)
    eligible = counted & (pop.p_status != ELSEWHERE)
    neglect_f = calibrated(
        rng,
        fx.poverty_on_neglect * pov + fx.family_on_neglect * fam + fx.single_parent_on_neglect * single,
        nd.neglect_rate,
        eligible,
    )
    abuse_f = calibrated(
        rng,
        fx.poverty_on_abuse * pov
        + fx.family_on_abuse * fam
        + fx.stepparent_on_abuse * step
        + fx.developmental_on_abuse * dev,
        nd.abuse_rate,
        eligible,
    )
    neglect_f &= child
    abuse_f &= child
    bullied = calibrated(rng, 0.5 * dev + 0.5 * foreign_hh[hh], nd.bullying_rate, pupil) & (g9 >= 1) & (g9 <= 9)
    sr_lin = (
        fx.poverty_on_school_refusal * pov
        + fx.family_on_school_refusal * fam
        + fx.developmental_on_school_refusal * dev
    )
    sr_lin = sr_lin + fx.bullying_on_school_refusal * bullied
    refusal = calibrated(rng, sr_lin, nd.school_refusal_elementary, elem) & child & (g9 >= 1) & (g9 <= 6)
    refusal |= calibrated(rng, sr_lin, nd.school_refusal_junior_high, jhs) & child & (g9 >= 7) & (g9 <= 9)
    yc_lin = (
        fx.care_need_on_young_carer * care_hh[hh]
        + fx.disability_on_young_carer * disability_hh[hh]
        + fx.single_parent_on_young_carer * single
        + fx.foreign_on_young_carer * foreign_hh[hh]
        + 0.4 * pov
    )
    carer = calibrated(rng, yc_lin, nd.young_carer_rate, jhs) & child & (age >= 10)
    infant = child & (age == 0)
    pnd_lin = (
        fx.poverty_on_postnatal_depression * pov
        + fx.single_parent_on_postnatal_depression * single
        + fx.family_on_postnatal_depression * fam
    )
    pnd = calibrated(rng, pnd_lin, nd.postnatal_depression_rate, infant & counted) & infant

    neglect = severity(rng, neglect_f, fam, nd.severe_share)
    abuse = severity(rng, abuse_f, fam, nd.severe_share)
    refusal_s = severity(rng, refusal, fam, nd.severe_share)
    carer_s = severity(rng, carer, fam, nd.severe_share)
    pnd_s = severity(rng, pnd, fam, nd.severe_share)
    # 心理的虐待 (including witnessing DV) is the largest category of consultations, then physical
    abuse_kind = np.where(
        abuse > 0, rng.choice([0, 1, 3], size=n, p=[0.36, 0.03, 0.61]), np.where(neglect > 0, 2, -1)
    ).astype(np.int8)

    maltreated = (abuse > 0) | (neglect > 0)
    tier = support_tier(abuse, neglect, refusal_s, carer_s, pnd_s, developmental, poverty, child)

    # who already knows the child
    p_centre = np.full(n, sup.centre_no_need)
    p_centre = np.maximum(
        p_centre,
        np.where(maltreated, np.where((abuse == 2) | (neglect == 2), sup.centre_abuse_severe, sup.centre_abuse), 0),
    )
    p_centre = np.maximum(p_centre, np.where(pnd, sup.centre_postnatal_depression, 0))
    p_centre = np.maximum(p_centre, np.where(refusal, sup.centre_school_refusal, 0))
    p_centre = np.maximum(p_centre, np.where(carer, sup.centre_young_carer, 0))
    p_centre = np.maximum(p_centre, np.where(dev_flag, sup.centre_developmental, 0))
    centre = child & (pop.p_status != ELSEWHERE) & (rng.random(n) < p_centre)
    p_cgc = np.where(maltreated, np.where((abuse == 2) | (neglect == 2), sup.cgc_abuse_severe, sup.cgc_abuse), 0.0)
    p_cgc = np.maximum(p_cgc, np.where(pop.p_cert == CERT_KINDS.index("療育"), sup.cgc_disability, 0))
    p_cgc = np.maximum(p_cgc, np.where(age >= 12, sup.cgc_delinquency * (1 + np.maximum(fam, 0)), 0))
    cgc = child & (rng.random(n) < p_cgc)
    cgc |= child & (pop.p_status == ELSEWHERE)  # the only reason they are in the data at all
    p_ssw = np.full(n, sup.ssw_no_need)
    p_ssw = np.maximum(p_ssw, np.where(refusal, sup.ssw_school_refusal, 0))
    p_ssw = np.maximum(p_ssw, np.where(maltreated, sup.ssw_abuse, 0))
    p_ssw = np.maximum(p_ssw, np.where(carer, sup.ssw_young_carer, 0))
    p_ssw = np.maximum(p_ssw, np.where(bullied, sup.ssw_bullying, 0))
    ssw = public_pupil & (rng.random(n) < p_ssw)
    return Needs(
        age=age,
        grade9=g9,
        econ=econ,
        family=fam,
        poverty=poverty,
        public_assistance=public_assistance,
        school_aid=school_aid,
        neglect=neglect,
        abuse=abuse,
        abuse_kind=abuse_kind,
        school_refusal=refusal_s,
        young_carer=carer_s,
        developmental=developmental,
        postnatal_depression=pnd_s,
        bullied=bullied,
        child_service=child_service,
        care_need_hh=care_hh,
        disability_hh=disability_hh,
        tier=tier,
        needs_support=tier <= 1,
        centre=centre,
        cgc=cgc,
        ssw=ssw,
        known=centre | cgc | ssw,
    )
