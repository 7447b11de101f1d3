"""The small home made searchable: hashed search keys as a linkage run writes them, a household
(P0001 and P0002 as siblings, with their mother P0009 in the register) and a 学校マスタ."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import update

from support.exports import JUKI_HEADER, juki_row, write_csv
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.hub import Hub
from tsunagu.ingest.load import Ingestor
from tsunagu.ingest.normalize import name_key, reading_key, split_name
from tsunagu.link.models import HouseholdMember, Person, PersonLink
from tsunagu.link.searchkeys import write_search_keys
from tsunagu.screen.runs.models import ScreeningResult
from work.builders import CHILDREN, Home

MOTHER = ("P0009", "1000000009", "髙橋　洋子", "ﾀｶﾊｼ ﾖｳｺ", "昭和60年5月5日", "女")
BIRTH = date(2018, 4, 1)  # juki_row's default birth date, every child's in the small home
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
                     "birth_date": BIRTH, "aza_number": aza})
    return pl.DataFrame(rows)


def make_searchable(home: Home) -> bytes:
    """Search keys, the household and the school master in ``home``; returns the search key."""
    ingestor = Ingestor(packaged_manifests(), home.settings.home / "vaults", str(home.engine.url))
    try:
        rows = [juki_row(aza, name=name, kana=kana, sex=sex) for aza, name, kana, sex, *_ in CHILDREN.values()]
        pid, aza, name, kana, birth, sex = MOTHER
        rows.append(juki_row(aza, name=name, kana=kana, birth=birth, sex=sex))
        ingestor.ingest_file(write_csv(home.settings.home / "in2" / "juki_jumin_20261101.csv", JUKI_HEADER, rows))
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
        session.execute(update(ScreeningResult).where(ScreeningResult.person_id == "P0003").values(school_code=SCHOOL))
        write_search_keys(session, records(), secret, date(2026, 10, 31))
    (home.settings.home / "schools.yaml").write_text(
        f"schools:\n  - code: {SCHOOL}\n    name: {SCHOOL_NAME}\n", encoding="utf-8")
    hub.close()
    return secret
