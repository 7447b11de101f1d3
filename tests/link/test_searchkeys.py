"""Search keys written by a linkage run (link.searchkeys): hashed, children only, one set per run;
and the synthetic municipality's school master names every school its exports use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from support.hubs import copy_home, hub_of
from support.municipality import SmallTown
from tsunagu.catalog.schools import read_school_master
from tsunagu.hub import Hub
from tsunagu.ingest.normalize import name_key, reading_key, split_name
from tsunagu.link.models import PersonLink
from tsunagu.link.run import run_linkage
from tsunagu.link.searchkeys import CLASS, CLASS_ITEM, NAME, READING, SearchKey, class_term, term_token
from tsunagu.synth.schools import CLASS_STANDARD_ELEMENTARY, CLASS_STANDARD_JUNIOR_HIGH
from tsunagu.vault.node import NodeRequest


@pytest.fixture
def linked(small_town: SmallTown, tmp_path: Path) -> Iterator[tuple[Hub, bytes]]:
    """A copy of the small town after a linkage run that wrote search keys: its hub and search key."""
    with hub_of(copy_home(small_town.home, tmp_path / "home"), migrate_store=True) as hub:
        secret = hub.search_secret
        with hub.sessions.begin() as session:
            run_linkage(session, hub.nodes(), hub.manifests, search_secret=secret)
        yield hub, secret


def test_a_linkage_run_writes_hashed_keys_that_find_a_registered_child(linked: tuple[Hub, bytes]) -> None:
    hub, secret = linked
    register = hub.manifests.register()
    assert register is not None
    with hub.sessions() as session:
        links = session.execute(select(PersonLink.person_id, PersonLink.local_id)
                                .where(PersonLink.source == register.source)).all()
        person_of = dict((lid, pid) for pid, lid in links)
        answer = hub.nodes()[register.department].identifiers(
            NodeRequest(requester="test", role="system", purpose="screening",
                        fields=("full_name", "reading", "birth_date")),
            local_ids=[(register.source, lid) for lid in person_of])
        rows = list(answer.data.filter(pl.col("birth_date") > pl.date(2015, 1, 1)).head(5).iter_rows(named=True))
        assert len(rows) == 5
        stored = {t for (t,) in session.execute(select(SearchKey.token))}
        for row in rows:
            family, _given = split_name(row["full_name"])
            person = person_of[row["local_id"]]
            token = term_token(secret, NAME, name_key(family))
            owners = set(session.scalars(select(SearchKey.person_id).where(SearchKey.token == token)))
            assert person in owners
            assert term_token(secret, READING, reading_key(row["reading"])) in stored
            # the hub holds no name in clear, only the keyed hash
            assert family not in stored and name_key(family) not in stored
        adults = answer.data.filter(pl.col("birth_date") < pl.date(1990, 1, 1)).head(20)
        adult_people = [person_of[lid] for lid in adults["local_id"].to_list()]
        assert len(adult_people) == 20
        assert session.scalar(select(func.count()).select_from(SearchKey)
                              .where(SearchKey.person_id.in_(adult_people))) == 0
        first = session.scalar(select(func.count()).select_from(SearchKey))
    with hub.sessions.begin() as session:  # a second run replaces, not adds
        run_linkage(session, hub.nodes(), hub.manifests, incremental=True, search_secret=secret)
    with hub.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SearchKey)) == first


def test_the_synthetic_school_master_names_every_school_the_exports_use(small_town: SmallTown) -> None:
    master = read_school_master(small_town.exports.parent / "schools.yaml").names()
    in_files = {m.group(1) for p in small_town.exports.iterdir() if (m := re.match(r"school_([A-H][0-9]{12})_", p.name))}
    assert in_files and in_files <= set(master)
    assert all(name.startswith(("つなぐ市立", "私立つなぐ学園")) for name in master.values())


def test_a_linkage_run_keys_each_pupil_by_school_and_class(linked: tuple[Hub, bytes]) -> None:
    hub, secret = linked
    classes = hub.nodes()["schools"].items(
        NodeRequest(requester="test", role="system", purpose="screening", items=(CLASS_ITEM,)), date.max).data
    assert classes.height > 100
    with hub.sessions() as session:
        pupils = {lid: pid for lid, pid in session.execute(select(PersonLink.local_id, PersonLink.person_id)
                                                           .where(PersonLink.source == "school_meibo"))}
        checked = 0
        for row in classes.head(20).iter_rows(named=True):
            school = str(row["local_id"]).split(":")[0]
            token = term_token(secret, CLASS, class_term(school, str(row["value_text"])))
            owners = set(session.scalars(select(SearchKey.person_id).where(SearchKey.token == token)))
            if row["local_id"] in pupils:
                assert pupils[row["local_id"]] in owners
                checked += 1
            assert 1 <= len(owners) <= CLASS_STANDARD_JUNIOR_HIGH * 9  # one class's pupils, every grade of it
        assert checked >= 15


def test_the_synthetic_classes_follow_the_class_size_standard(small_town: SmallTown) -> None:
    rosters = [pl.read_csv(p, skip_rows=1, infer_schema=False, encoding="utf8-lossy")
               for p in small_town.exports.glob("school_*_meibo_*.csv")]
    roster = pl.concat(rosters).unique(subset=["学校コード", "児童生徒番号"])
    roster = roster.filter(pl.col("組").str.contains(r"^[0-9]+組$") & pl.col("学年").str.contains(r"^[1-9]$"))
    per_class = roster.group_by("学校コード", "学年", "組").len()
    per_grade = roster.group_by("学校コード", "学年").agg(pl.len().alias("pupils"), pl.col("組").n_unique().alias("classes"))
    for code, size in zip(per_class["学校コード"], per_class["len"], strict=True):
        assert size <= (CLASS_STANDARD_JUNIOR_HIGH if code.startswith("C") else CLASS_STANDARD_ELEMENTARY)
    # As few classes as the standard allows (one more where a broken row hid a pupil from the count).
    for code, pupils, n in zip(per_grade["学校コード"], per_grade["pupils"], per_grade["classes"], strict=True):
        standard = CLASS_STANDARD_JUNIOR_HIGH if code.startswith("C") else CLASS_STANDARD_ELEMENTARY
        assert n <= max(1, -(-pupils // standard)) + 1
