"""Search keys written by a linkage run (link.searchkeys): hashed, children only, one set per run;
and the synthetic municipality's school master names every school its exports use."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
from sqlalchemy import func, select

from support.hubs import copy_home, hub_of
from support.municipality import SmallTown
from tsunagu.catalog.schools import read_school_master
from tsunagu.ingest.normalize import name_key, reading_key, split_name
from tsunagu.link.models import PersonLink
from tsunagu.link.run import run_linkage
from tsunagu.link.searchkeys import NAME, READING, SearchKey, term_token
from tsunagu.vault.node import NodeRequest


def test_a_linkage_run_writes_hashed_keys_that_find_a_registered_child(small_town: SmallTown, tmp_path: Path) -> None:
    home = tmp_path / "home"
    copy_home(small_town.home, home)
    with hub_of(home, migrate_store=True) as hub:
        secret = hub.search_secret
        with hub.sessions.begin() as session:
            run_linkage(session, hub.nodes(), hub.manifests, search_secret=secret)
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
