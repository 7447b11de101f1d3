"""What a linkage run asks the department nodes for: only the identity fields it compares."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from support.hubs import copy_home, nodes_of
from support.municipality import SmallTown
from tsunagu.catalog.manifest import manifests_for_home
from tsunagu.config import load_settings
from tsunagu.errors import UnavailableError
from tsunagu.link.records import COMPARISON_FIELDS, KEYED_FIELDS, gather, needed_for_scoring
from tsunagu.vault import schema
from tsunagu.vault.node import IDENTITY_FIELDS, LocalNode, NodeRefusedError, NodeRequest, _frame
from tsunagu.vault.topology import close_nodes


@pytest.fixture()
def home(small_town: SmallTown, tmp_path: Path) -> Path:
    return Path(copy_home(small_town.home, tmp_path / "home"))


def test_an_identifiers_request_gets_only_the_fields_it_names(home: Path) -> None:
    nodes = nodes_of(load_settings(home))
    try:
        node = nodes["resident_registry"]
        everything = node.identifiers(NodeRequest("tester", "system", "screening")).data
        asked = node.identifiers(NodeRequest("tester", "system", "screening", fields=("birth_date", "aza_number", "bogus")))
        assert asked.data.columns == ["record_id", "source", "local_id", "aza_number", "birth_date"]
        assert asked.data.equals(everything.select(asked.data.columns))
        assert set(asked.refused) == {"bogus"}
        with pytest.raises(NodeRefusedError):
            node.identifiers(NodeRequest("tester", "system", "screening", fields=("bogus",)))
        assert everything.columns == ["record_id", "source", "local_id", "row_number", "valid_from", *IDENTITY_FIELDS]
        # items (observation items a caller also asks for) do not narrow an identifiers answer
        with_items = node.identifiers(NodeRequest("tester", "system", "screening", items=("school_code",)))
        assert with_items.data.columns == everything.columns
    finally:
        close_nodes(nodes)


def test_a_link_run_asks_departments_keyed_by_aza_for_the_aza_only(home: Path) -> None:
    nodes = nodes_of(load_settings(home))
    try:
        inputs = gather(nodes, manifests_for_home(home), "test-run")
        asked: dict[str, list[str]] = {}
        for department, node in nodes.items():
            assert isinstance(node, LocalNode)
            with node.vault.transaction() as conn:
                log = schema.request_log
                items = conn.execute(select(log.c["items"]).where(log.c.requester == "hub:link:test-run",
                                                               log.c.kind == "identifiers")).scalar_one()
            asked[department] = json.loads(items)
    finally:
        close_nodes(nodes)
    assert asked["child_support"] == list(KEYED_FIELDS)
    assert asked["tax"] == list(KEYED_FIELDS)
    assert set(COMPARISON_FIELDS) <= set(asked["schools"])
    assert "previous_name_key" in asked["resident_registry"]
    assert not any("full_name" in fields or "address" in fields for fields in asked.values())
    # keyed records still arrive, with what clustering needs
    keyed = inputs.records.filter(inputs.records["source"] == "jidou_teate")
    assert keyed.height > 0 and keyed["aza_number"].null_count() == 0 and keyed["family_key"].null_count() == keyed.height


def test_an_identifiers_answer_holds_the_rows_as_the_driver_reads_them(home: Path) -> None:
    """On SQLite the columns come back as JSON arrays: the same values, types and order as row by row."""
    nodes = nodes_of(load_settings(home))
    try:
        node = nodes["resident_registry"]
        assert isinstance(node, LocalNode)
        r = schema.records
        columns = [r.c.record_id, r.c.source, r.c.local_id, r.c.row_number, r.c.valid_from, *[r.c[f] for f in IDENTITY_FIELDS]]
        with node.vault.transaction() as conn:
            expected = _frame(conn, select(*columns).where(r.c.valid_to.is_(None)).order_by(r.c.record_id))
        request = NodeRequest("tester", "system", "screening")
        current = node.identifiers(request).data
        assert current.height > 100 and current.equals(expected) and current.schema == expected.schema
        none_yet = node.identifiers(request, as_of=date(2000, 1, 1)).data  # before any export: no row
        assert none_yet.height == 0 and none_yet.schema == expected.schema
    finally:
        close_nodes(nodes)


def test_scoring_waits_only_for_the_departments_whose_records_it_uses(home: Path) -> None:
    """The register (the spine), the compared sources and the school enrolments are asked before
    scoring; the rest join by 宛名番号 alone: none of their records could be scored, and the spine
    built without them is the same."""
    manifests = manifests_for_home(home)
    nodes = nodes_of(load_settings(home))
    try:
        scored = {d for d in nodes if needed_for_scoring(d, manifests)}
        before = gather({d: n for d, n in nodes.items() if d in scored}, manifests, "test-before")
        after = gather({d: n for d, n in nodes.items() if d not in scored}, manifests, "test-after")
        whole = gather(nodes, manifests, "test-whole")
    finally:
        close_nodes(nodes)
    assert scored == {"resident_registry", "schools", "child_guidance", "family_centre", "board_of_education",
                      "prefecture_board_of_education"}
    assert after.records.height > 0 and after.records["aza_number"].null_count() == 0
    assert before.spine.equals(whole.spine)
    joined = before.with_records_of(after)
    assert joined.records.sort("key").equals(whole.records.sort("key"))


class _FailingNode:
    """A node whose identifiers request fails (down, or its vault locked), not a policy refusal."""

    def __init__(self, node: object) -> None:
        self._node = node

    def identifiers(self, *_args: object, **_kwargs: object) -> object:
        raise OSError("database is locked")

    def __getattr__(self, name: str) -> object:
        return getattr(self._node, name)


def test_a_register_node_that_fails_stops_the_run_and_another_node_does_not(home: Path) -> None:
    # Without the register (the spine) a full run would delete every link of the register's records:
    # a failing register stops the run before anything is written; another department's failure is
    # named and the run goes on without it.
    nodes = nodes_of(load_settings(home))
    manifests = manifests_for_home(home)
    try:
        failing = {**nodes, "resident_registry": _FailingNode(nodes["resident_registry"])}
        with pytest.raises(UnavailableError, match="住民記録"):
            gather(failing, manifests, "test-failing-register")  # type: ignore[arg-type]
        other = {**nodes, "tax": _FailingNode(nodes["tax"])}
        inputs = gather(other, manifests, "test-failing-tax")  # type: ignore[arg-type]
        assert "tax" in inputs.refused and "database is locked" in inputs.refused["tax"]
        assert inputs.records.filter(pl.col("source") == inputs.spine_source).height > 0
    finally:
        close_nodes(nodes)
