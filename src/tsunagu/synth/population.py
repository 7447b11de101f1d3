"""The population of つなぐ市: who lives where, who moved, died, changed name, and their ids."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tsunagu.synth.dates import NA, month_start, to_day, ymd
from tsunagu.synth.households import (
    CHILD,
    GUARDIAN,
    NO_EVENT,
    OTHER,
    SINGLE_FATHER,
    SINGLE_MOTHER,
    SLOT_ADULT_CHILD,
    SLOT_CHILD,
    SLOT_FATHER,
    SLOT_GRANDFATHER,
    SLOT_GRANDMOTHER,
    SLOT_MOTHER,
    TWO_PARENT,
    YEAR,
    HouseholdBatch,
    concat_batches,
    make_batch,
)
from tsunagu.synth.names import lexicon, town_table
from tsunagu.synth.profile import Profile

Arr = npt.NDArray[Any]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]

# household status
HH_RESIDENT, HH_MOVED_OUT, HH_ELSEWHERE = 0, 1, 2
# person status
RESIDENT, MOVED_OUT, DEAD, ELSEWHERE = 0, 1, 2, 3

CARE_LEVELS = ("要支援1", "要支援2", "要介護1", "要介護2", "要介護3", "要介護4", "要介護5")
# 介護保険事業状況報告（厚生労働省）: share of certified persons by level, rounded
CARE_LEVEL_SHARE = (0.14, 0.14, 0.21, 0.17, 0.13, 0.12, 0.09)
CERT_KINDS = ("身体", "療育", "精神")


@dataclass
class Address:
    town: IntArr
    chome: IntArr
    ban: IntArr
    go: IntArr
    building: IntArr  # -1 for a house
    room: IntArr


@dataclass
class Population:
    profile: Profile
    export_day: int
    period_start: int
    hb: HouseholdBatch
    hh_status: Arr
    hh_setai: IntArr
    address: Address
    prev_address: Address  # before a move within the city (equal to address otherwise)
    postal: Arr
    town_names: Arr
    hh_move_in_day: IntArr
    hh_origin: IntArr
    hh_move_within_day: IntArr
    hh_move_out_day: IntArr
    hh_surname_day: IntArr
    p_role: Arr
    p_rel: Arr
    p_status: Arr
    p_status_day: IntArr
    p_aza: IntArr
    p_family: Arr
    p_family_kana: Arr
    p_family_romaji: Arr
    p_prev_family: Arr
    p_prev_family_kana: Arr
    p_last_event_day: IntArr
    p_born_here_in_period: BoolArr
    p_care_level: Arr  # index into CARE_LEVELS, -1 none
    p_care_day: IntArr
    p_cert: Arr  # index into CERT_KINDS, -1 none
    p_cert_day: IntArr
    hh_first: IntArr  # first person index of each household
    hh_size: IntArr

    @property
    def n(self) -> int:
        return len(self.hb.p_hh)

    @property
    def p_hh(self) -> IntArr:
        return self.hb.p_hh

    @property
    def p_birth(self) -> IntArr:
        return self.hb.p_birth

    @property
    def p_sex(self) -> Arr:
        return self.hb.p_sex

    @property
    def p_foreign(self) -> BoolArr:
        return self.hb.foreign[self.hb.p_hh]

    def child_mask(self) -> BoolArr:
        """Children counted by the generator: resident, alive, aged 0–17 at the export date."""
        mask: BoolArr = (self.hb.p_slot == SLOT_CHILD) & (self.p_status == RESIDENT)
        return mask

    def member_of(self, slot: int) -> IntArr:
        """Person index of the member in ``slot`` of each household (first one), -1 if none."""
        out = np.full(len(self.hh_status), -1, dtype=np.int64)
        idx = np.flatnonzero(self.hb.p_slot == slot)[::-1]
        out[self.hb.p_hh[idx]] = idx
        return out

    def guardian_of_household(self) -> IntArr:
        """The guardian who usually deals with the municipality: the mother, else the father."""
        mother, father = self.member_of(SLOT_MOTHER), self.member_of(SLOT_FATHER)
        return np.where(mother >= 0, mother, father)

    def earner_of_household(self) -> IntArr:
        """The registered taxpayer/recipient: the father where there is one, else the mother."""
        mother, father = self.member_of(SLOT_MOTHER), self.member_of(SLOT_FATHER)
        return np.where(father >= 0, father, mother)


def unique_ids(rng: np.random.Generator, n: int, low: int, high: int) -> IntArr:
    ids = rng.integers(low, high, size=n, dtype=np.int64)
    for _ in range(50):
        _, first = np.unique(ids, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            return ids
        ids[dup] = rng.integers(low, high, size=int(dup.sum()), dtype=np.int64)
    raise RuntimeError("could not draw unique ids")


def _addresses(
    rng: np.random.Generator, n: int, town_w: npt.NDArray[np.float64], town_chome: IntArr, apartment_rate: float
) -> Address:
    town = rng.choice(len(town_w), size=n, p=town_w).astype(np.int64)
    chome = 1 + np.floor(rng.random(n) * town_chome[town]).astype(np.int64)
    apartment = rng.random(n) < apartment_rate
    n_buildings = len(lexicon().buildings)
    building = np.where(apartment, rng.integers(0, n_buildings, n), -1).astype(np.int64)
    room = rng.integers(1, 6, n) * 100 + rng.integers(1, 13, n)
    # blocks of flats hold many households at one 番・号
    ban = np.where(apartment, 1 + (building * 7 + town) % 28, rng.integers(1, 36, n)).astype(np.int64)
    go = np.where(apartment, 1 + (building * 3 + chome) % 20, rng.integers(1, 31, n)).astype(np.int64)
    return Address(town, chome, ban, go, building, room)


def _uniform_days(rng: np.random.Generator, n: int, lo: int, hi: int) -> IntArr:
    return lo + np.floor(rng.random(n) * max(hi - lo, 1)).astype(np.int64)


def build_population(profile: Profile, n_children: int, rng: np.random.Generator) -> Population:
    export_day = to_day(profile.export_date)
    period_start = month_start(export_day, profile.period_months - 1)
    dyn, mp = profile.dynamics, profile.municipality
    dead_children = int(rng.binomial(n_children, dyn.child_death_rate)) if n_children else 0
    n_out = round(n_children * dyn.move_out_rate)
    n_else = max(1, round(n_children * mp.outside_children_rate)) if mp.outside_children_rate > 0 and n_children else 0
    batches = [make_batch(rng, profile, n_children, export_day, dead_children)]
    statuses = [np.full(len(batches[0].kind), HH_RESIDENT, dtype=np.int8)]
    for count, batch_status in ((n_out, HH_MOVED_OUT), (n_else, HH_ELSEWHERE)):
        if count:
            batches.append(make_batch(rng, profile, count, export_day, 0))
            statuses.append(np.full(len(batches[-1].kind), batch_status, dtype=np.int8))
    hb = concat_batches(batches)
    hh_status = np.concatenate(statuses)
    n_hh, n = len(hh_status), len(hb.p_hh)
    slot, p_hh = hb.p_slot, hb.p_hh

    n_towns = int(min(max(3, math.ceil(n_children / mp.children_per_town)), 9 * len(lexicon().towns)))
    town_names, town_chome, town_w = town_table(n_towns)
    address = _addresses(rng, n_hh, town_w, town_chome, mp.apartment_rate)
    prev_address = _addresses(rng, n_hh, town_w, town_chome, mp.apartment_rate)
    postal = np.array(
        [
            f"{mp.postal_prefix}-{1000 + 20 * int(t) + int(c):04d}"
            for t, c in zip(address.town, address.chome, strict=True)
        ],
        dtype=object,
    )

    # moves and name changes inside the period
    resident_hh = hh_status == HH_RESIDENT
    youngest = np.full(n_hh, np.iinfo(np.int64).min)
    np.maximum.at(youngest, p_hh, hb.p_birth)
    u = rng.random(n_hh)
    moved_in = resident_hh & (u < dyn.move_in_rate)
    moved_within = resident_hh & ~moved_in & (u > 1 - dyn.move_within_rate)
    move_in_day = np.where(moved_in, _uniform_days(rng, n_hh, period_start, export_day + 1), NA)
    within_day = np.where(moved_within, _uniform_days(rng, n_hh, period_start, export_day + 1), NA)
    out_day = np.where(
        hh_status == HH_MOVED_OUT,
        np.minimum(np.maximum(_uniform_days(rng, n_hh, period_start, export_day + 1), youngest + 30), export_day),
        NA,
    )
    surname_day = np.where(hb.surname_event != NO_EVENT, _uniform_days(rng, n_hh, period_start, export_day + 1), NA)
    origin = rng.integers(0, len(lexicon().origins), n_hh).astype(np.int64)
    for field in ("town", "chome", "ban", "go", "building", "room"):
        getattr(prev_address, field)[~moved_within] = getattr(address, field)[~moved_within]

    # persons
    role = np.where(
        slot == SLOT_CHILD, CHILD, np.where((slot == SLOT_FATHER) | (slot == SLOT_MOTHER), GUARDIAN, OTHER)
    ).astype(np.int8)
    kind = hb.kind[p_hh]
    head = ((slot == SLOT_FATHER) & (kind != SINGLE_MOTHER)) | ((slot == SLOT_MOTHER) & (kind == SINGLE_MOTHER))
    rel = np.full(n, "子", dtype=object)
    rel[head] = "世帯主"
    rel[(slot == SLOT_MOTHER) & (kind == TWO_PARENT)] = "妻"
    rel[slot == SLOT_GRANDFATHER] = "父"
    rel[slot == SLOT_GRANDMOTHER] = "母"

    status = np.select(
        [hh_status[p_hh] == HH_ELSEWHERE, hh_status[p_hh] == HH_MOVED_OUT, hb.p_dead_child],
        [ELSEWHERE, MOVED_OUT, DEAD],
        RESIDENT,
    ).astype(np.int8)
    elder = (slot == SLOT_GRANDFATHER) | (slot == SLOT_GRANDMOTHER)
    elder_dead = elder & (status == RESIDENT) & (rng.random(n) < dyn.elder_death_rate)
    status[elder_dead] = DEAD
    status_day = np.full(n, NA, dtype=np.int64)
    death_day = np.maximum(_uniform_days(rng, n, period_start, export_day + 1), hb.p_birth)
    status_day[status == DEAD] = death_day[status == DEAD]
    status_day[status == MOVED_OUT] = out_day[p_hh][status == MOVED_OUT]

    in_registry = status != ELSEWHERE
    aza = np.zeros(n, dtype=np.int64)
    aza[in_registry] = unique_ids(rng, int(in_registry.sum()), 1_000_000_000, 9_000_000_000)
    setai = np.zeros(n_hh, dtype=np.int64)
    setai[hh_status != HH_ELSEWHERE] = unique_ids(
        rng, int((hh_status != HH_ELSEWHERE).sum()), 9_000_000_000, 9_999_999_999
    )

    changed = (hb.surname_event[p_hh] != NO_EVENT) & (
        (slot == SLOT_MOTHER) | (slot == SLOT_CHILD) | (slot == SLOT_ADULT_CHILD)
    )
    family = hb.family[p_hh]
    prev_family = np.where(changed, hb.prev_family[p_hh], "").astype(object)
    prev_kana = np.where(changed, hb.prev_family_kana[p_hh], "").astype(object)

    # 異動日: the last registry event of each person
    adult_from = np.maximum(hb.p_birth + int(20 * YEAR), to_day(profile.export_date) - int(20 * YEAR))
    spread = np.floor(rng.random(n) * np.maximum(period_start - adult_from, 1)).astype(np.int64)
    last = np.where(role == CHILD, hb.p_birth, np.minimum(adult_from + spread, period_start - 1))
    born_here = (hb.p_birth >= period_start) & (status != ELSEWHERE)
    born_here &= ~moved_in[p_hh] | (hb.p_birth > move_in_day[p_hh])
    pm_in, pm_within, p_surname = move_in_day[p_hh], within_day[p_hh], surname_day[p_hh]
    last = np.where((pm_in != NA) & (hb.p_birth < pm_in), pm_in, last)
    last = np.where(pm_within != NA, np.maximum(last, pm_within), last)
    last = np.where(changed, np.maximum(last, p_surname), last)
    last = np.where(status_day != NA, status_day, last)
    last = np.where(status == ELSEWHERE, NA, last)

    # care needs of elders and disability certificates of adults (children's come with their needs)
    alive_elder = elder & (status != ELSEWHERE)
    care = alive_elder & (rng.random(n) < profile.households.elder_care_need_rate)
    care_level = np.where(care, rng.choice(len(CARE_LEVELS), size=n, p=CARE_LEVEL_SHARE), -1).astype(np.int8)
    first_care_day = export_day - rng.integers(30, 6 * 365, n)
    care_day = np.where(care, certification_in_force(first_care_day, export_day), NA)
    adult = (role != CHILD) & (status != ELSEWHERE)
    cert_adult = adult & (rng.random(n) < profile.households.adult_disability_rate)
    cert = np.where(cert_adult, rng.choice(3, size=n, p=(0.55, 0.10, 0.35)), -1).astype(np.int8)
    cert_day = np.where(cert_adult, export_day - rng.integers(30, 15 * 365, n), NA)
    cert_day = np.maximum(cert_day, np.where(cert_adult, hb.p_birth + 365, NA))

    hh_first = np.full(n_hh, n, dtype=np.int64)
    np.minimum.at(hh_first, p_hh, np.arange(n, dtype=np.int64))
    hh_size = np.bincount(p_hh, weights=(status == RESIDENT).astype(np.float64), minlength=n_hh).astype(np.int64)
    return Population(
        profile=profile,
        export_day=export_day,
        period_start=period_start,
        hb=hb,
        hh_status=hh_status,
        hh_setai=setai,
        address=address,
        prev_address=prev_address,
        postal=postal,
        town_names=town_names,
        hh_move_in_day=move_in_day,
        hh_origin=origin,
        hh_move_within_day=within_day,
        hh_move_out_day=out_day,
        hh_surname_day=surname_day,
        p_role=role,
        p_rel=rel,
        p_status=status,
        p_status_day=status_day,
        p_aza=aza,
        p_family=family,
        p_family_kana=hb.family_kana[p_hh],
        p_family_romaji=hb.family_romaji[p_hh],
        p_prev_family=prev_family,
        p_prev_family_kana=prev_kana,
        p_last_event_day=last,
        p_born_here_in_period=born_here,
        p_care_level=care_level,
        p_care_day=care_day,
        p_cert=cert,
        p_cert_day=cert_day,
        hh_first=hh_first,
        hh_size=hh_size,
    )


def single_parent(pop: Population) -> BoolArr:
    """Per household: a single parent today (母子・父子世帯)."""
    return np.isin(pop.hb.kind, (SINGLE_MOTHER, SINGLE_FATHER))


def ages(pop: Population, idx: IntArr) -> IntArr:
    """Age in whole years at the export date."""
    by, bm, bd = ymd(pop.p_birth[idx])
    ey, em, ed = ymd(np.array([pop.export_day], dtype=np.int64))
    before = (bm > em[0]) | ((bm == em[0]) & (bd > ed[0]))
    out: IntArr = (ey[0] - by - before.astype(np.int64)).astype(np.int64)
    return out


# 要介護認定 lasts a limited time and is renewed: the first certification for up to 12 months, each
# renewal for up to 48 (介護保険法第28条, 同法施行規則第38条第2項・第41条; 48 months since April 2021).
# A care-insurance export lists the certification in force, so its 認定日 is the latest renewal's date,
# never the first certification years ago. Renewals are taken at 36 months, a common period.
FIRST_CERTIFICATION_DAYS = 365
RENEWAL_DAYS = 1096


def certification_in_force(first_day: IntArr, export_day: int) -> IntArr:
    """The day the certification in force was decided, for certifications first decided on ``first_day``."""
    since_renewals = np.maximum(export_day - first_day - FIRST_CERTIFICATION_DAYS, 0)
    renewals = np.where(export_day - first_day >= FIRST_CERTIFICATION_DAYS, since_renewals // RENEWAL_DAYS + 1, 0)
    return np.where(renewals == 0, first_day,
                    first_day + FIRST_CERTIFICATION_DAYS + (renewals - 1) * RENEWAL_DAYS).astype(np.int64)
