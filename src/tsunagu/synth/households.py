"""Households and their members: children, guardians, grandparents, adult siblings.

Everything is drawn with numpy over whole arrays; a batch of households is built at once and the
population is the concatenation of three batches (resident, moved out, living elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from tsunagu.synth.dates import add_years, to_day
from tsunagu.synth.names import lexicon, to_variant
from tsunagu.synth.profile import Profile

Arr = npt.NDArray[Any]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]

YEAR = 365.2425

# household kinds
TWO_PARENT, SINGLE_MOTHER, SINGLE_FATHER = 0, 1, 2
# person roles
CHILD, GUARDIAN, OTHER = 0, 1, 2
# member slots, which fix 続柄 and the order members are listed in
SLOT_FATHER, SLOT_MOTHER, SLOT_CHILD, SLOT_ADULT_CHILD, SLOT_GRANDFATHER, SLOT_GRANDMOTHER = range(6)
# surname events in the period
NO_EVENT, DIVORCE, REMARRIAGE = 0, 1, 2


@dataclass
class HouseholdBatch:
    # households
    kind: Arr
    foreign: BoolArr
    three_gen: BoolArr
    stepfamily: BoolArr
    surname_event: Arr
    family: Arr  # current family name of the children
    family_kana: Arr
    family_romaji: Arr
    prev_family: Arr  # before the surname event, "" if none
    prev_family_kana: Arr
    # persons
    p_hh: IntArr
    p_slot: Arr
    p_sex: Arr  # 0 male, 1 female
    p_birth: IntArr
    p_twin: BoolArr
    p_dead_child: BoolArr
    p_given: Arr
    p_given_kana: Arr
    p_given_romaji: Arr


def _concat_field(batches: list[HouseholdBatch], name: str) -> Arr:
    return np.concatenate([getattr(b, name) for b in batches])


def concat_batches(batches: list[HouseholdBatch]) -> HouseholdBatch:
    offsets = np.cumsum([0] + [len(b.kind) for b in batches[:-1]])
    values: dict[str, Arr] = {}
    for f in fields(HouseholdBatch):
        if f.name == "p_hh":
            values[f.name] = np.concatenate([b.p_hh + off for b, off in zip(batches, offsets, strict=True)])
        else:
            values[f.name] = _concat_field(batches, f.name)
    return HouseholdBatch(**values)


def _deliveries(rng: np.random.Generator, profile: Profile, n_children: int) -> tuple[IntArr, BoolArr]:
    """Household index and twin flag of each delivery, totalling exactly ``n_children``."""
    hp = profile.households
    if n_children <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    probs = np.array(hp.children_per_household, dtype=np.float64)
    probs /= probs.sum()
    mean = float((np.arange(1, len(probs) + 1) * probs).sum()) * (1 + hp.twin_rate)
    guess = int(n_children / mean * 1.1) + 16
    per_hh = rng.choice(np.arange(1, len(probs) + 1), size=guess, p=probs)
    hh = np.repeat(np.arange(guess, dtype=np.int64), per_hh)
    twin = rng.random(len(hh)) < hp.twin_rate
    total = np.cumsum(1 + twin.astype(np.int64))
    while total[-1] < n_children:  # only for tiny populations with an unlucky draw
        extra_hh = np.arange(hh[-1] + 1, hh[-1] + 1 + n_children, dtype=np.int64)
        hh = np.concatenate([hh, extra_hh])
        twin = np.concatenate([twin, np.zeros(len(extra_hh), dtype=bool)])
        total = np.cumsum(1 + twin.astype(np.int64))
    last = int(np.searchsorted(total, n_children))
    hh, twin = hh[: last + 1], twin[: last + 1].copy()
    if total[last] > n_children:
        twin[last] = False
    return hh, twin


def _sorted_ages(rng: np.random.Generator, profile: Profile, hh: IntArr) -> IntArr:
    """Age of each delivery, siblings spread over different ages where possible (eldest first)."""
    w = np.array(profile.households.age_weights, dtype=np.float64)
    w /= w.sum()
    ages = rng.choice(18, size=len(hh), p=w).astype(np.int64)
    for _ in range(12):
        order = np.lexsort((-ages, hh))
        hh_s, age_s = hh[order], ages[order]
        clash = np.zeros(len(hh), dtype=bool)
        clash[1:] = (hh_s[1:] == hh_s[:-1]) & (age_s[1:] == age_s[:-1])
        if not clash.any():
            break
        idx = order[clash]
        ages[idx] = rng.choice(18, size=len(idx), p=w)
    return ages


def _birth_days(rng: np.random.Generator, export_day: int, ages: IntArr) -> IntArr:
    anniversary = np.array([add_years(export_day, -a) for a in range(120)], dtype=np.int64)
    lo, hi = anniversary[ages + 1], anniversary[ages]
    return lo + 1 + np.floor(rng.random(len(ages)) * (hi - lo)).astype(np.int64)


def _cohort_names(rng: np.random.Generator, sex: Arr, birth: IntArr, group: Arr) -> tuple[Arr, Arr, Arr]:
    """Given names by sex and birth cohort; foreign residents' by their family name's region."""
    lex = lexicon()
    foreign = group != ""
    n = len(sex)
    given: Arr = np.empty(n, dtype=object)
    kana: Arr = np.empty(n, dtype=object)
    romaji: Arr = np.full(n, "", dtype=object)
    year = 1970 + (birth / YEAR).astype(np.int64)
    cohort = np.where(year >= 2005, 0, np.where(year >= 1965, 1, 2))
    for s, sex_code in ((0, "M"), (1, "F")):
        for c, cohort_name in enumerate(("child", "parent", "elder")):
            mask = (sex == s) & (cohort == c) & ~foreign
            if mask.any():
                names = lex.given[(sex_code, cohort_name)]
                pick = names.sample(rng, int(mask.sum()))
                given[mask], kana[mask] = names.names[pick], names.readings[pick]
        for (fsex, grp), names in sorted(lex.foreign_given.items()):
            mask = (sex == s) & (group == grp) & (fsex == sex_code)
            if mask.any():
                pick = names.sample(rng, int(mask.sum()))
                given[mask], kana[mask], romaji[mask] = names.names[pick], names.readings[pick], names.romaji[pick]
    return given, kana, romaji


def _family_names(rng: np.random.Generator, n: int, foreign: BoolArr, variant_rate: float) -> tuple[Arr, Arr, Arr, Arr]:
    """Family name, reading, romaji and region group (foreign households) of ``n`` households."""
    lex = lexicon()
    name: Arr = np.empty(n, dtype=object)
    kana: Arr = np.empty(n, dtype=object)
    romaji: Arr = np.full(n, "", dtype=object)
    group: Arr = np.full(n, "", dtype=object)
    jp = ~foreign
    pick = lex.family.sample(rng, int(jp.sum()))
    name[jp], kana[jp] = lex.family.names[pick], lex.family.readings[pick]
    pick = lex.foreign_family.sample(rng, int(foreign.sum()))
    name[foreign], kana[foreign] = lex.foreign_family.names[pick], lex.foreign_family.readings[pick]
    romaji[foreign] = lex.foreign_family.romaji[pick]
    group[foreign] = lex.foreign_family.groups[pick]
    # Some families are registered with the traditional form of a character (髙橋, 山﨑, 渡邊).
    registered_variant = jp & (rng.random(n) < variant_rate)
    name[registered_variant] = np.array([to_variant(str(v)) for v in name[registered_variant]], dtype=object)
    return name, kana, romaji, group


def _distinct_sibling_names(
    rng: np.random.Generator,
    p_hh: IntArr,
    sex: Arr,
    birth: IntArr,
    group: Arr,
    given: Arr,
    kana: Arr,
    romaji: Arr,
) -> None:
    """Redraw given names that repeat within a household (twins above all must differ)."""
    for _ in range(20):
        order = np.lexsort((given.astype(str), p_hh))
        dup = np.zeros(len(order), dtype=bool)
        dup[1:] = (p_hh[order][1:] == p_hh[order][:-1]) & (given[order][1:] == given[order][:-1])
        if not dup.any():
            return
        idx = order[dup]
        g, k, r = _cohort_names(rng, sex[idx], birth[idx], group[idx])
        given[idx], kana[idx], romaji[idx] = g, k, r


def make_batch(
    rng: np.random.Generator, profile: Profile, n_children: int, export_day: int, dead_children: int
) -> HouseholdBatch:
    """Build households holding exactly ``n_children`` living children (plus ``dead_children``)."""
    hp, dyn = profile.households, profile.dynamics
    d_hh, d_twin = _deliveries(rng, profile, n_children)
    n_hh = int(d_hh[-1]) + 1 if len(d_hh) else 0
    ages = _sorted_ages(rng, profile, d_hh)
    births = _birth_days(rng, export_day, ages)
    dead = np.zeros(len(d_hh), dtype=bool)
    if dead_children:
        extra_hh = rng.integers(0, n_hh, size=dead_children)
        extra_age = rng.integers(0, 18, size=dead_children)
        d_hh = np.concatenate([d_hh, extra_hh])
        d_twin = np.concatenate([d_twin, np.zeros(dead_children, dtype=bool)])
        births = np.concatenate([births, _birth_days(rng, export_day, extra_age)])
        dead = np.concatenate([dead, np.ones(dead_children, dtype=bool)])
    # children: one per delivery, two for twins
    c_hh = np.concatenate([d_hh, d_hh[d_twin]])
    c_birth = np.concatenate([births, births[d_twin]])
    c_twin = np.concatenate([d_twin, np.ones(int(d_twin.sum()), dtype=bool)])
    c_dead = np.concatenate([dead, np.zeros(int(d_twin.sum()), dtype=bool)])
    c_sex = (rng.random(len(c_hh)) < 0.4878).astype(np.int8)  # 出生性比 ≈ 105 boys : 100 girls

    # household attributes
    single = rng.random(n_hh) < hp.single_parent_rate
    father_only = rng.random(n_hh) < hp.single_father_share
    kind = np.where(single, np.where(father_only, SINGLE_FATHER, SINGLE_MOTHER), TWO_PARENT).astype(np.int8)
    foreign = rng.random(n_hh) < hp.foreign_national_rate
    three_gen = rng.random(n_hh) < hp.three_generation_rate
    # per two-parent household and year; divorces in the period end in today's single parents
    p_divorce = min(0.5, dyn.divorce_rate * (1 - hp.single_parent_rate) / max(hp.single_parent_rate, 1e-9))
    p_remarry = min(0.5, dyn.remarriage_rate * hp.single_parent_rate / max(1 - hp.single_parent_rate, 1e-9))
    u = rng.random(n_hh)
    event = np.where(
        single & (kind == SINGLE_MOTHER) & (u < p_divorce * dyn.surname_change_on_divorce),
        DIVORCE,
        np.where(~single & (u < p_remarry), REMARRIAGE, NO_EVENT),
    ).astype(np.int8)
    stepfamily = (event == REMARRIAGE) | (~single & (rng.random(n_hh) < 3 * p_remarry))

    family, family_kana, family_romaji, group = _family_names(rng, n_hh, foreign, hp.registered_variant_rate)
    prev_family, prev_kana, _, _ = _family_names(rng, n_hh, foreign, hp.registered_variant_rate)
    prev_family[event == NO_EVENT] = ""
    prev_kana[event == NO_EVENT] = ""

    # eldest and youngest child's birth per household fix the parents' ages
    eldest = np.full(n_hh, np.iinfo(np.int64).max)
    np.minimum.at(eldest, c_hh, c_birth)
    youngest = np.full(n_hh, np.iinfo(np.int64).min)
    np.maximum.at(youngest, c_hh, c_birth)
    age_first = np.clip(rng.normal(hp.mother_age_at_first_birth_mean, hp.mother_age_at_first_birth_sd, n_hh), 17, 44)
    mother_birth = eldest - (age_first * YEAR).astype(np.int64)
    mother_birth = np.maximum(mother_birth, youngest - int(46 * YEAR))
    gap = np.clip(rng.normal(hp.father_age_gap_mean, hp.father_age_gap_sd, n_hh), -8, 20)
    father_birth = mother_birth - (gap * YEAR).astype(np.int64)
    head_birth = np.where(kind == SINGLE_FATHER, father_birth, mother_birth)
    both_gp = rng.random(n_hh) < hp.grandparents_both_rate
    gp_male = rng.random(n_hh) < 0.35  # the survivor of an older couple is more often the grandmother
    has_gf = three_gen & (both_gp | gp_male)
    has_gm = three_gen & (both_gp | ~gp_male)
    gp_age = np.clip(rng.normal(29.0, 4.0, n_hh), 19, 42)
    gm_birth = head_birth - (gp_age * YEAR).astype(np.int64)
    gf_birth = gm_birth - (np.clip(rng.normal(2.5, 3.0, n_hh), -5, 12) * YEAR).astype(np.int64)
    # nobody in the data is older than 昭和 (the oldest era the exports write)
    oldest = to_day(date(1930, 1, 1))
    gm_birth, gf_birth = np.maximum(gm_birth, oldest), np.maximum(gf_birth, oldest)
    adult_age = 18 + rng.geometric(0.35, n_hh) - 1
    adult_birth = export_day - (adult_age * YEAR).astype(np.int64) - rng.integers(1, 360, n_hh)
    has_adult = (rng.random(n_hh) < hp.adult_child_rate) & (adult_birth - mother_birth > int(18 * YEAR))

    hh_ids = np.arange(n_hh, dtype=np.int64)
    has_father = kind != SINGLE_MOTHER
    has_mother = kind != SINGLE_FATHER
    parts = [
        (hh_ids[has_father], SLOT_FATHER, 0, father_birth[has_father]),
        (hh_ids[has_mother], SLOT_MOTHER, 1, mother_birth[has_mother]),
        (hh_ids[has_adult], SLOT_ADULT_CHILD, -1, adult_birth[has_adult]),
        (hh_ids[has_gf], SLOT_GRANDFATHER, 0, gf_birth[has_gf]),
        (hh_ids[has_gm], SLOT_GRANDMOTHER, 1, gm_birth[has_gm]),
    ]
    p_hh = np.concatenate([c_hh] + [p[0] for p in parts])
    p_slot = np.concatenate([np.full(len(c_hh), SLOT_CHILD)] + [np.full(len(p[0]), p[1]) for p in parts]).astype(
        np.int8
    )
    sexes = [c_sex]
    for ids, _slot, sex, _birth in parts:
        sexes.append(
            np.full(len(ids), sex, dtype=np.int8) if sex >= 0 else (rng.random(len(ids)) < 0.5).astype(np.int8)
        )
    p_sex = np.concatenate(sexes)
    p_birth = np.concatenate([c_birth] + [p[3] for p in parts])
    p_twin = np.concatenate([c_twin, np.zeros(len(p_hh) - len(c_hh), dtype=bool)])
    p_dead_child = np.concatenate([c_dead, np.zeros(len(p_hh) - len(c_hh), dtype=bool)])
    order = np.lexsort((p_birth, p_slot, p_hh))
    p_hh, p_slot, p_sex, p_birth = p_hh[order], p_slot[order], p_sex[order], p_birth[order]
    p_twin, p_dead_child = p_twin[order], p_dead_child[order]
    p_group = group[p_hh]
    given, given_kana, given_romaji = _cohort_names(rng, p_sex, p_birth, p_group)
    sibling = (p_slot == SLOT_CHILD) | (p_slot == SLOT_ADULT_CHILD)
    idx = np.flatnonzero(sibling)
    g, k, r = given[idx], given_kana[idx], given_romaji[idx]
    _distinct_sibling_names(rng, p_hh[idx], p_sex[idx], p_birth[idx], p_group[idx], g, k, r)
    given[idx], given_kana[idx], given_romaji[idx] = g, k, r
    return HouseholdBatch(
        kind=kind,
        foreign=foreign,
        three_gen=three_gen,
        stepfamily=stepfamily,
        surname_event=event,
        family=family,
        family_kana=family_kana,
        family_romaji=family_romaji,
        prev_family=prev_family,
        prev_family_kana=prev_kana,
        p_hh=p_hh,
        p_slot=p_slot,
        p_sex=p_sex,
        p_birth=p_birth,
        p_twin=p_twin,
        p_dead_child=p_dead_child,
        p_given=given,
        p_given_kana=given_kana,
        p_given_romaji=given_romaji,
    )
