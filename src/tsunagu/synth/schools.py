"""School districts, schools, pupils' grades, classes and each school's own pupil numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from tsunagu.synth.dates import NA, fiscal_year, school_cohort, to_day
from tsunagu.synth.population import Population

Arr = npt.NDArray[Any]
IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]

ELEMENTARY, JUNIOR_HIGH = 0, 1
# 学級編制の標準 (公立義務教育諸学校の学級編制及び教職員定数の標準に関する法律 第3条第2項): one grade per
# class, at most 35 pupils in elementary school (the 2021 amendment, in force for every grade from
# fiscal 2025) and 40 in junior high. A municipality may set smaller classes; the synthetic one does not.
CLASS_STANDARD_ELEMENTARY = 35
CLASS_STANDARD_JUNIOR_HIGH = 40
_PREF = "99"  # no real prefecture has code 99: the codes are visibly fictional
_MUNI = "901"


def school_code(level: int, public: bool, serial: int) -> str:
    """A 13-character code in the shape of the 文部科学省 学校コード (type, pref, setter, …, check)."""
    body = f"{'B' if level == ELEMENTARY else 'C'}{_PREF}{2 if public else 3}{_MUNI}{serial:05d}"
    check = sum(int(ch) for ch in body[1:]) % 10
    return f"{body}{check}"


@dataclass
class SchoolNetwork:
    codes: Arr
    names: Arr
    level: Arr
    public: BoolArr
    pupil: IntArr  # person index of each pupil (resident children in grades 1–9)
    grade9: IntArr  # 1–9 through compulsory school
    school: IntArr  # index into codes
    klass: IntArr
    student_no: Arr
    entry_day: IntArr  # the day the pupil joined this school
    school_year: int

    @property
    def grade(self) -> IntArr:
        return np.where(self.grade9 > 6, self.grade9 - 6, self.grade9)

    def at_public_school(self) -> BoolArr:
        return self.public[self.school]


def grade9_of(pop: Population, idx: IntArr) -> IntArr:
    sy = int(fiscal_year(np.array([pop.export_day], dtype=np.int64))[0])
    return (sy - school_cohort(pop.p_birth[idx]) - 6).astype(np.int64)


def _assign_by_units(units: IntArr, n_schools: int) -> IntArr:
    """Cut the sorted 町丁目 units into ``n_schools`` contiguous districts of similar size."""
    uniq, counts = np.unique(units, return_counts=True)
    cum = np.cumsum(counts) - counts / 2
    district = np.minimum((cum / counts.sum() * n_schools).astype(np.int64), n_schools - 1)
    return np.asarray(district[np.searchsorted(uniq, units)], dtype=np.int64)


_ELEM_NAMES = (
    "中央",
    "本町",
    "旭",
    "若葉",
    "桜台",
    "青葉台",
    "東",
    "西",
    "南",
    "北",
    "緑",
    "栄",
    "宮前",
    "富士見",
    "春日",
    "つなぎ野",
    "ひかりが丘",
    "松が丘",
    "梅ヶ丘",
    "港",
    "泉",
    "日の出",
)


def _school_name(level: int, public: bool, serial: int) -> str:
    base = _ELEM_NAMES[serial % len(_ELEM_NAMES)]
    round_no = serial // len(_ELEM_NAMES)
    suffix = "" if round_no == 0 else f"第{round_no + 1}"
    kind = "小学校" if level == ELEMENTARY else "中学校"
    if not public:
        return f"私立つなぐ学園{kind}"
    return f"つなぐ市立{base}{suffix}{kind}"


def build_schools(pop: Population, rng: np.random.Generator) -> SchoolNetwork:
    sp = pop.profile.schools
    children = np.flatnonzero(pop.child_mask())
    g9 = grade9_of(pop, children)
    in_school = (g9 >= 1) & (g9 <= 9)
    pupil, g9 = children[in_school], g9[in_school]
    hh = pop.p_hh[pupil]
    units = pop.address.town[hh] * 100 + pop.address.chome[hh]
    elem, jhs = g9 <= 6, g9 > 6
    n_elem = max(1, min(round(int(elem.sum()) / sp.pupils_per_elementary), len(np.unique(units))))
    n_jhs = max(1, min(round(int(jhs.sum()) / sp.pupils_per_junior_high), n_elem))
    elem_of_pupil = _assign_by_units(units, n_elem)
    jhs_of_pupil = elem_of_pupil * n_jhs // n_elem  # a junior-high district joins neighbouring elementary ones

    codes = [school_code(ELEMENTARY, True, 10001 + i) for i in range(n_elem)]
    codes += [school_code(JUNIOR_HIGH, True, 20001 + i) for i in range(n_jhs)]
    codes += [school_code(ELEMENTARY, False, 30001), school_code(JUNIOR_HIGH, False, 30002)]
    names = [_school_name(ELEMENTARY, True, i) for i in range(n_elem)]
    names += [_school_name(JUNIOR_HIGH, True, i) for i in range(n_jhs)]
    names += [_school_name(ELEMENTARY, False, 0), _school_name(JUNIOR_HIGH, False, 0)]
    level = np.array([ELEMENTARY] * n_elem + [JUNIOR_HIGH] * n_jhs + [ELEMENTARY, JUNIOR_HIGH], dtype=np.int8)
    public = np.array([True] * (n_elem + n_jhs) + [False, False])

    private = np.where(
        elem, rng.random(len(pupil)) < sp.private_elementary_rate, rng.random(len(pupil)) < sp.private_junior_high_rate
    )
    school = np.where(elem, elem_of_pupil, n_elem + jhs_of_pupil)
    school = np.where(private, np.where(elem, n_elem + n_jhs, n_elem + n_jhs + 1), school).astype(np.int64)

    # classes (組) per school and grade: as few as the 学級編制の標準 allows, pupils shuffled across them
    grade = np.where(g9 > 6, g9 - 6, g9)
    key = school * 10 + grade
    order = np.lexsort((rng.random(len(pupil)), key))
    klass = np.zeros(len(pupil), dtype=np.int64)
    k_sorted = key[order]
    starts = np.r_[0, np.flatnonzero(k_sorted[1:] != k_sorted[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    standard = np.where(level[school[order][starts]] == JUNIOR_HIGH, CLASS_STANDARD_JUNIOR_HIGH, CLASS_STANDARD_ELEMENTARY)
    n_classes = np.repeat(np.maximum(1, np.ceil(sizes / standard)).astype(np.int64), sizes)
    klass[order] = rank % n_classes + 1

    # the day each pupil joined this school: April of the entry year, or the day the family moved in
    sy = int(fiscal_year(np.array([pop.export_day], dtype=np.int64))[0])
    first_grade = np.where(level[school] == JUNIOR_HIGH, 7, 1)
    entry_year = sy - (g9 - first_grade)
    entry_day = np.array([to_day(date(int(y), 4, 6)) for y in range(sy - 9, sy + 1)], dtype=np.int64)[
        entry_year - (sy - 9)
    ]
    move_in = pop.hh_move_in_day[hh]
    entry_day = np.where((move_in != NA) & (move_in > entry_day), move_in, entry_day)
    entry_sy = fiscal_year(entry_day)

    # 児童生徒番号: entry year + running number within the school, the school's own scheme
    order = np.lexsort((rng.random(len(pupil)), entry_sy, school))
    grp = school[order] * 10_000 + entry_sy[order]
    starts = np.r_[0, np.flatnonzero(grp[1:] != grp[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    seq = np.arange(len(order)) - np.repeat(starts, sizes) + 1
    student_no = np.empty(len(pupil), dtype=object)
    student_no[order] = [f"{y}{s:04d}" for y, s in zip(entry_sy[order], seq, strict=True)]
    return SchoolNetwork(
        codes=np.array(codes, dtype=object),
        names=np.array(names, dtype=object),
        level=level,
        public=public,
        pupil=pupil,
        grade9=g9,
        school=school,
        klass=klass,
        student_no=student_no,
        entry_day=entry_day,
        school_year=sy,
    )


def write_school_master(network: SchoolNetwork, out: Path) -> Path:
    """The board of education's list of schools (学校マスタ, ``catalog.schools``), beside exports/: the
    departments' files name schools by code only, as real ones do."""
    path = out / "schools.yaml"
    body = {"schools": [{"code": str(c), "name": str(n)} for c, n in zip(network.codes, network.names, strict=True)]}
    path.write_text("# 学校マスタ（合成データ）: 学校コードと学校名\n"
                    + yaml.safe_dump(body, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
