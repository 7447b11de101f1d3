"""The prefecture's high schools: who of the 15–17 year olds is enrolled, who left, who stays away.

High schools are the prefecture's (都道府県立) or private, so the municipality holds no record of
them; the prefecture's board of education does (docs/rules.md, "High school and pre-school").
The same latent factors that drive school refusal at the municipal schools (poverty, family stress,
a developmental disorder) drive it here, through the same coefficients of the profile, at the
national high-school rate; it is a need as at junior high, so the true tier is recomputed for
the children it touches. Not entering high school and leaving it (中途退学) follow the same
factors, leaving also school refusal. Drawn from its own random stream, so every other part of
the town stays as it was without high schools.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from tsunagu.synth.dates import NA, fiscal_year, to_day
from tsunagu.synth.needs import Arr, BoolArr, IntArr, Needs, calibrated, severity, support_tier
from tsunagu.synth.population import RESIDENT, Population
from tsunagu.synth.profile import Profile

# Prefectural and private high schools the town's teenagers attend (fictional names and codes)
SCHOOLS: tuple[tuple[str, str, bool], ...] = (
    ("H0101", "つなぐ県立中央高等学校", True), ("H0102", "つなぐ県立東高等学校", True),
    ("H0103", "つなぐ県立北高等学校", True), ("H0104", "つなぐ県立工業高等学校", True),
    ("H0105", "つなぐ県立商業高等学校", True), ("H0201", "私立つなぐ学園高等学校", False),
    ("H0202", "私立あさひ女子高等学校", False),
)
LEAVE_ON_REFUSAL = 1.0  # log-odds: a student who stays away is likelier to leave (不登校 → 中途退学)


@dataclass
class HighSchools:
    """One row per student in the prefecture's records (persons index ``student``)."""

    student: IntArr
    school: IntArr  # index into SCHOOLS
    grade: IntArr  # 1–3
    entry_day: IntArr
    left_day: IntArr  # NA while enrolled
    support_fund: BoolArr  # 高等学校等就学支援金 received
    numbers: Arr  # 生徒番号 (the prefecture's own)
    not_enrolled: BoolArr  # per person: of high-school age and in no high school at all

    def public(self) -> BoolArr:
        flags = np.array([s[2] for s in SCHOOLS], dtype=bool)
        out: BoolArr = flags[self.school]
        return out


def _linear(prof: Profile, nd: Needs) -> np.ndarray:
    fx = prof.needs.effects
    pov = (nd.poverty > 0).astype(np.float64)
    dev = (nd.developmental > 0).astype(np.float64)
    return fx.poverty_on_school_refusal * pov + fx.family_on_school_refusal * nd.family + (
        fx.developmental_on_school_refusal * dev)


def build_high_schools(pop: Population, nd: Needs, rng: np.random.Generator) -> HighSchools:
    """Enrol the high-school-age children, draw school refusal and leaving; update ``nd`` in place."""
    prof, hp = pop.profile, pop.profile.high_school
    counted = (nd.age >= 0) & (pop.p_status == RESIDENT)
    of_age = counted & (nd.grade9 >= 10) & (nd.grade9 <= 12)
    linear = _linear(prof, nd)
    outside = calibrated(rng, linear, 1.0 - hp.enrolment_rate, of_age)
    enrolled = of_age & ~outside
    elsewhere = enrolled & (rng.random(pop.n) < hp.elsewhere_share)
    listed = enrolled & ~elsewhere
    refusal = calibrated(rng, linear, hp.school_refusal_rate, enrolled) & enrolled
    refusal_s = severity(rng, refusal, nd.family, prof.needs.severe_share)
    nd.school_refusal = np.where(refusal, refusal_s, nd.school_refusal).astype(nd.school_refusal.dtype)
    sup = prof.support
    nd.centre |= refusal & (rng.random(pop.n) < sup.centre_school_refusal)
    nd.known = nd.centre | nd.cgc | nd.ssw
    nd.tier = support_tier(nd.abuse, nd.neglect, nd.school_refusal, nd.young_carer, nd.postnatal_depression,
                           nd.developmental, nd.poverty, nd.age >= 0)
    nd.needs_support = nd.tier <= 1

    idx = np.flatnonzero(listed)
    n = len(idx)
    grade = (nd.grade9[idx] - 9).astype(np.int64)
    school_year = int(fiscal_year(np.array([pop.export_day], dtype=np.int64))[0])
    entry = np.array([to_day(date(school_year - int(g) + 1, 4, 1)) for g in grade], dtype=np.int64)
    years = np.maximum((pop.export_day - entry) / 365.25, 0.0)
    leaving_lin = linear[idx] + LEAVE_ON_REFUSAL * refusal[idx]
    among = np.ones(n, dtype=bool)
    share = float(min(1.0, hp.leaving_rate_per_year * years.mean())) if n else 0.0
    left = calibrated(rng, leaving_lin, share, among) if n else np.zeros(0, dtype=bool)
    left_day = np.where(left, entry + (rng.random(n) * (pop.export_day - entry)).astype(np.int64), NA)
    public_flags = np.array([s[2] for s in SCHOOLS], dtype=bool)
    private = rng.random(n) < hp.private_share
    choices_pub, choices_priv = np.flatnonzero(public_flags), np.flatnonzero(~public_flags)
    school = np.where(private, choices_priv[rng.integers(0, len(choices_priv), n)],
                      choices_pub[rng.integers(0, len(choices_pub), n)])
    t_fund = float(np.quantile(nd.econ[of_age], hp.support_fund_share)) if of_age.any() else np.inf
    fund = nd.econ[idx] <= t_fund
    order = rng.permutation(n)
    numbers: Arr = np.array([f"K{school_year % 100:02d}{k:06d}" for k in order + 1], dtype=object)
    not_enrolled = of_age & ~enrolled
    return HighSchools(idx, school.astype(np.int64), grade, entry, left_day.astype(np.int64), fund, numbers,
                       not_enrolled)
