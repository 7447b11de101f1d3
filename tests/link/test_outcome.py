"""A first run stores the records with 宛名番号 while Splink scores, then adds the scored records:
what it leaves in the hub must be what one pass over the whole outcome leaves."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, select

from support.municipality import SmallTown
from tsunagu.config import load_settings
from tsunagu.ingest.manifest import manifests_for_home
from tsunagu.link import model as link_model
from tsunagu.link.assign import Assignment, Thresholds, assign
from tsunagu.link.identity import cluster_records
from tsunagu.link.models import ClericalPair, HouseholdMember, Person, PersonEvent, PersonLink
from tsunagu.link.outcome import no_previous_links, store_keyed, store_outcome, store_scored
from tsunagu.link.probabilistic import link_probabilistic
from tsunagu.link.records import SPINE_SOURCE, LinkInputs, gather
from tsunagu.link.run import _declared_fields
from tsunagu.store.db import create_hub_engine, session_factory
from tsunagu.vault.topology import close_nodes, open_nodes

NO_DECISIONS = pl.DataFrame(schema={"left_key": pl.Utf8, "right_key": pl.Utf8, "decision": pl.Utf8})


@pytest.fixture(scope="module")
def scored(small_town: SmallTown, trained_model: dict[str, Any]) -> tuple[LinkInputs, Assignment]:
    """The small town's identifiers, the links the trained model gives them and a review queue."""
    settings = load_settings(small_town.home)
    nodes = open_nodes(settings)
    try:
        inputs = gather(nodes, manifests_for_home(small_town.home), "test-outcome")
    finally:
        close_nodes(nodes)
    spine = inputs.spine.with_columns((pl.lit(SPINE_SOURCE + ":") + pl.col("aza_number")).alias("key"))
    unkeyed = inputs.records.filter(pl.col("aza_number").is_null())
    comparisons = link_model.choose_comparisons(_declared_fields(manifests_for_home(small_town.home)))
    result = link_probabilistic(spine, unkeyed, link_model.settings_dict(comparisons), trained_model=trained_model)
    # A high upper threshold puts some pairs in the review band (the small town has none at 0.99).
    return inputs, assign(result.pairs, NO_DECISIONS, Thresholds(upper=0.99999))


@pytest.fixture
def two_hubs(small_town: SmallTown, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    engines = []
    for name in ("in-two-parts", "in-one-pass"):
        home = tmp_path / name
        shutil.copytree(small_town.home, home)
        engines.append(create_hub_engine(load_settings(home).hub_url))
    yield engines[0], engines[1]
    for engine in engines:
        engine.dispose()


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
