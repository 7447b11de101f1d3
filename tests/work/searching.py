"""The small home made searchable: hashed search keys as a linkage run writes them, a household
(P0001 and P0002 as siblings, with their mother P0009 in the register), the schools' rosters with
each pupil's class (組) and a 学校マスタ."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import update

from support.exports import JUKI_HEADER, juki_row, write_csv
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.hub import Hub
from tsunagu.ingest.load import Ingestor
from tsunagu.ingest.normalize import name_key, reading_key, split_name
from tsunagu.link.models import HouseholdMember, Person, PersonLink
from tsunagu.link.searchkeys import gather_classes, write_search_keys
from tsunagu.screen.runs.models import ScreeningResult
from work.builders import CHILDREN, Home

MOTHER = ("P0009", "1000000009", "髙橋　洋子", "ﾀｶﾊｼ ﾖｳｺ", "昭和60年5月5日", "女")
BIRTH = date(2018, 4, 1)  # juki_row's default birth date, every child's in the small home
# The class of each pupil on the school's roster (S001: P0001 5年2組, P0002 3年2組, P0004 6年1組; S002: P0003 4年2組).
CLASSES = {"P0001": "2組", "P0002": "２", "P0003": "2組", "P0004": "1組"}
MEIBO_HEADER = "学校コード,児童生徒番号,氏名,ふりがな,生年月日,性別,住所,保護者氏名,保護者ふりがな,学年,組"
SCHOOL = "C199290120001"
SCHOOL_NAME = "つなぐ市立東中学校"


def records() -> pl.DataFrame:
    """The register's identity records as linkage shapes them (match keys, not names)."""
    rows = []
    for _pid, (aza, name, kana, *_rest) in CHILDREN.items():
        family, given = split_name(name)
        family_r, given_r = split_name(kana.replace(" ", "　"))
        rows.append({"key": f"juki_jumin:{aza}", "family_key": name_key(family), "given_key": name_key(given or ""),
                     "family_reading_key": reading_key(family_r), "given_reading_key": reading_key(given_r or ""),
                     "birth_date": BIRTH, "aza_number": aza, "school_code": None})
    for _pid, (_aza, _name, _kana, _sex, school, pupil, _grade) in CHILDREN.items():
        rows.append({"key": f"school_meibo:{school}:{pupil}", "birth_date": BIRTH, "school_code": school})
    return pl.DataFrame(rows)


def _rosters(ingestor: Ingestor, folder: Path) -> None:
    for school in ("S001", "S002"):
        lines = [f"{sch},{pupil},{name},{kana},2018/4/1,{sex},つなぐ市中央町1-2-3,,,{grade},{CLASSES[pid]}"
                 for pid, (_aza, name, kana, sex, sch, pupil, grade) in CHILDREN.items() if sch == school]
        ingestor.ingest_file(write_csv(folder / f"school_{school}_meibo_20261031.csv", MEIBO_HEADER, lines,
                                       encoding="utf-8"))


def make_searchable(home: Home) -> bytes:
    """Search keys, the household and the school master in ``home``; returns the search key."""
    ingestor = Ingestor(packaged_manifests(), home.settings.home / "vaults", str(home.engine.url))
    try:
        rows = [juki_row(aza, name=name, kana=kana, sex=sex) for aza, name, kana, sex, *_ in CHILDREN.values()]
        pid, aza, name, kana, birth, sex = MOTHER
        rows.append(juki_row(aza, name=name, kana=kana, birth=birth, sex=sex))
        ingestor.ingest_file(write_csv(home.settings.home / "in2" / "juki_jumin_20261101.csv", JUKI_HEADER, rows))
        _rosters(ingestor, home.settings.home / "in2")
    finally:
        ingestor.close()
    hub = Hub(home.settings)
    secret = hub.search_secret
    now = datetime.now(UTC)
    with home.factory.begin() as session:
        session.add(Person(person_id=pid, created_run="link-1", status="active", household_id="H:200001"))
        session.flush()
        session.add(PersonLink(person_id=pid, department="resident_registry", source="juki_jumin", local_id=aza,
                               method="spine", match_probability=None, run_id="link-1"))
        session.execute(update(Person).where(Person.person_id.in_(["P0001", "P0002"])).values(household_id="H:200001"))
        for member, role, relation in (("P0001", "child", "子"), ("P0002", "child", "子"), (pid, "guardian", "母")):
            session.add(HouseholdMember(household_id="H:200001", person_id=member, role=role, relationship=relation,
                                        valid_from=now))
        for child, (_aza, _n, _k, _s, school, pupil, _g) in CHILDREN.items():
            session.add(PersonLink(person_id=child, department="schools", source="school_meibo",
                                   local_id=f"{school}:{pupil}", method="probabilistic", match_probability=0.98,
                                   run_id="link-1"))
        session.execute(update(ScreeningResult).where(ScreeningResult.person_id == "P0003").values(school_code=SCHOOL))
        write_search_keys(session, records(), secret, date(2026, 10, 31),
                          gather_classes(hub.nodes(), hub.manifests, "link-1"))
    (home.settings.home / "schools.yaml").write_text(
        f"schools:\n  - code: {SCHOOL}\n    name: {SCHOOL_NAME}\n", encoding="utf-8")
    hub.close()
    return secret
