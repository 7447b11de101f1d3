"""A first run stores the records with 宛名番号 while Splink scores, then adds the scored records:
what it leaves in the hub must be what one pass over the whole outcome leaves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, select

from support.hubs import copy_home, nodes_of
from support.municipality import SmallTown
from support.postgres import fresh_database
from tsunagu.catalog.manifest import manifests_for_home, packaged_manifests
from tsunagu.config import load_settings
from tsunagu.home import init_home
from tsunagu.hub import Hub
from tsunagu.ingest.load import Ingestor
from tsunagu.link import model as link_model
from tsunagu.link.assign import Assignment, Thresholds, assign
from tsunagu.link.identity import cluster_records
from tsunagu.link.models import ClericalPair, HouseholdMember, Person, PersonEvent, PersonLink
from tsunagu.link.outcome import no_previous_links, store_keyed, store_outcome, store_scored
from tsunagu.link.probabilistic import link_probabilistic
from tsunagu.link.records import LinkInputs, gather
from tsunagu.link.run import run_linkage
from tsunagu.link.stages import declared_fields
from tsunagu.municipality import Municipality
from tsunagu.store.db import create_hub_engine, migrate, session_factory
from tsunagu.vault.topology import close_nodes

NO_DECISIONS = pl.DataFrame(schema={"left_key": pl.Utf8, "right_key": pl.Utf8, "decision": pl.Utf8})


@pytest.fixture(scope="module")
def scored(small_town: SmallTown, trained_model: dict[str, Any]) -> tuple[LinkInputs, Assignment]:
    """The small town's identifiers, the links the trained model gives them and a review queue."""
    settings = load_settings(small_town.home)
    nodes = nodes_of(settings, scope="session")
    try:
        inputs = gather(nodes, manifests_for_home(small_town.home), "test-outcome")
    finally:
        close_nodes(nodes)
    spine = inputs.spine.with_columns(inputs.spine_key(pl.col("aza_number")).alias("key"))
    unkeyed = inputs.records.filter(pl.col("aza_number").is_null())
    comparisons = link_model.choose_comparisons(declared_fields(manifests_for_home(small_town.home)))
    result = link_probabilistic(spine, unkeyed, link_model.settings_dict(comparisons), trained_model=trained_model)
    # A high upper threshold puts some pairs in the review band (the small town has none at 0.99).
    return inputs, assign(result.pairs, NO_DECISIONS, Thresholds(upper=0.99999))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_hubs(request: pytest.FixtureRequest, small_town: SmallTown, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two empty hubs on the embedded store or on PostgreSQL."""
    with ExitStack() as stack:
        engines = []
        for name in ("in_two_parts", "in_one_pass"):
            if request.param == "postgres":
                url = stack.enter_context(fresh_database(f"tsunagu_{name}"))
                migrate(url)
            else:  # the suite's back-end for homes (a copy of the town's own store, never the town's)
                url = load_settings(copy_home(small_town.home, tmp_path / name)).hub_url
            engine = create_hub_engine(url)
            stack.callback(engine.dispose)
            engines.append(engine)
        yield engines[0], engines[1]


def _outcome(engine: Engine) -> dict[str, Any]:
    """The hub's persons, links, households and review queue, each person named by its records
    (person ids are random: two runs give different ids to the same person)."""
    with session_factory(engine)() as session:
        links = session.execute(select(PersonLink.source, PersonLink.local_id, PersonLink.person_id,
                                       PersonLink.department, PersonLink.method, PersonLink.match_probability)).all()
        records_of: dict[str, set[str]] = {}
        for source, local_id, person_id, *_ in links:
            records_of.setdefault(person_id, set()).add(f"{source}:{local_id}")
        name = {person_id: tuple(sorted(keys)) for person_id, keys in records_of.items()}
        persons = session.execute(select(Person.person_id, Person.status, Person.household_id)).all()
        members = session.execute(select(HouseholdMember.household_id, HouseholdMember.person_id, HouseholdMember.role,
                                         HouseholdMember.relationship, HouseholdMember.valid_to)).all()
        review = session.execute(select(ClericalPair.left_key, ClericalPair.right_key, ClericalPair.match_probability,
                                        ClericalPair.comparison_json, ClericalPair.status)).all()
        events = session.scalars(select(PersonEvent.kind)).all()
    return {
        "links": sorted((s, lid, name[p], dept, method, prob) for s, lid, p, dept, method, prob in links),
        "persons": sorted((name[p], status, household) for p, status, household in persons),
        "households": sorted((h, name[p], role, rel, to) for h, p, role, rel, to in members),
        "review": sorted(review),
        "events": sorted(events),
    }


def test_a_first_run_in_two_parts_stores_what_one_pass_stores(scored: tuple[LinkInputs, Assignment],
                                                                 two_hubs: tuple[Engine, Engine]) -> None:
    inputs, assignment = scored
    clustered = cluster_records(inputs.records, assignment.links)
    now = datetime.now(UTC)
    in_parts, in_one = two_hubs
    with session_factory(in_parts).begin() as session:
        keyed = store_keyed(session, "run-parts", now, inputs)
        parts = store_scored(session, "run-parts", now, keyed, clustered, assignment.links, assignment.review)
    with session_factory(in_one).begin() as session:
        one = store_outcome(session, "run-one", now, inputs, clustered, assignment.links, no_previous_links(),
                            assignment.review)

    stored = _outcome(in_parts)
    assert stored == _outcome(in_one)
    # the comparison is not empty-handed: every kind of row is there
    methods = {row[4] for row in stored["links"]}
    assert {"aza_number", "probabilistic", "singleton"} <= methods
    assert stored["households"] and stored["review"]
    assert stored["events"] == []  # creation is each person's created_run, not an event
    assert len(parts.changes.assignment) == len(one.changes.assignment) == len(stored["persons"])
    assert len(parts.changes.created) == len(one.changes.created) == len(stored["persons"])
    assert parts.written == one.written == {"deleted": 0, "updated": 0, "inserted": len(stored["links"])}


def _grouping(engine: Engine) -> list[tuple[Any, ...]]:
    """Each record, its department and how it was linked, with the person named by its records."""
    return [row[:5] for row in _outcome(engine)["links"]]


@pytest.mark.postgres
def test_a_run_on_postgres_links_as_on_the_embedded_store(small_town: SmallTown, linked_town: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The small town ingested and linked with everything on PostgreSQL (hub and vaults): a first
    run, then a run over the same records, which writes nothing."""
    embedded_url = load_settings(linked_town).hub_url
    with fresh_database("tsunagu_link") as url:
        monkeypatch.setenv("TSUNAGU_DATABASE_URL", url)
        home = tmp_path / "home"
        init_home(home, Municipality("272205", "つなぐ市"))
        settings = load_settings(home)
        assert settings.uses_postgres
        ingestor = Ingestor(packaged_manifests(), settings.vault_dir, settings.hub_url)
        try:
            ingestor.ingest([small_town.exports])
        finally:
            ingestor.close()
        with Hub(settings) as hub:
            with hub.sessions.begin() as session:
                first = run_linkage(session, hub.nodes(), hub.manifests)
            with hub.sessions.begin() as session:
                again = run_linkage(session, hub.nodes(), hub.manifests)
            on_postgres = _grouping(hub.engine)
    embedded = create_hub_engine(embedded_url)
    try:
        assert on_postgres == _grouping(embedded)
    finally:
        embedded.dispose()
    assert "write_keyed" in first.stage_seconds and first.probabilistic_links > 500
    assert again.created == again.merged == again.split == 0
    assert again.links_written == {"deleted": 0, "updated": 0, "inserted": 0}


def test_a_run_with_no_node_answering_links_nothing_without_failing(small_town: SmallTown, tmp_path: Path) -> None:
    """Every node down (or none set up yet): the run ends with nothing linked, not with an error."""
    home = copy_home(small_town.home, tmp_path / "home")
    engine = create_hub_engine(load_settings(home).hub_url)
    try:
        with session_factory(engine).begin() as session:
            report = run_linkage(session, {}, manifests_for_home(home))
        assert (report.records, report.persons, report.probabilistic_links) == (0, 0, 0)
        assert _outcome(engine)["links"] == []
    finally:
        engine.dispose()
