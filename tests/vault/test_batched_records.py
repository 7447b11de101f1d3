"""``Node.records``: many records of one source in one request, answered as ``record`` answers each.

The node's checks are ``record``'s, once for the request; its log holds one entry per request naming
how many subjects it answered for. Both transports (in process and HTTP) answer alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.vault.http import signed_headers, wire
from tsunagu.vault.node import LocalNode, NodeRefusedError, NodeRequest
from tsunagu.vault.store import Vault, VaultLocation
from vault.test_http_node import AS_OF, HUB, ITEMS, World, _ingest, _post, _same, world

__all__ = ["world"]  # the HTTP nodes of test_http_node, shared by this module's transport test

REGISTER = ("juki_jumin", ["1000000003", "1000000001", "9999999999", "1000000002"])


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalNode, Path]]:
    vault_dir = _ingest(tmp_path_factory.mktemp("records"))
    node = LocalNode("resident_registry",
                     Vault(VaultLocation.for_home("resident_registry", vault_dir, "sqlite:///unused")),
                     packaged_manifests())
    try:
        yield node, vault_dir
    finally:
        node.vault.dispose()


def _request(purpose: str = "assessment", items: tuple[str, ...] = ITEMS["resident_registry"]) -> NodeRequest:
    return NodeRequest("staff:tanaka", "centre_caseworker", purpose, items)


def _log(node: LocalNode, request_id: str) -> list[dict[str, object]]:
    with node.vault.transaction() as conn:
        rows = conn.exec_driver_sql("select kind, items, subjects, outcome, reason from request_log "
                                    "where request_id = ? order by log_id", (request_id,)).mappings().all()
    return [dict(r) for r in rows]


def test_the_batched_answer_is_the_records_answers_one_after_another(register: tuple[LocalNode, Path]) -> None:
    node, _ = register
    source, local_ids = REGISTER
    request = _request()
    batched = node.records(request, source, [*local_ids, local_ids[0]])  # asked twice: answered once
    singles = [node.record(_request(), source, local_id).data for local_id in local_ids]
    assert_frame_equal(batched.data, pl.concat(singles), check_exact=True)
    assert batched.data.schema == singles[0].schema
    for local_id, single in zip(local_ids, singles, strict=True):
        assert_frame_equal(batched.data.filter(pl.col("local_id") == local_id), single, check_exact=True)
    assert sum(s.height > 0 for s in singles) == 3 and batched.data.height > 3
    # One log entry for the request, naming the three subjects answered for (9999999999 has no rows).
    assert _log(node, request.request_id) == [{"kind": "records", "items": json.dumps(list(request.items)),
                                               "subjects": 3, "outcome": "released", "reason": "提供 / released"}]


def test_the_batch_keeps_the_purposes_release_and_its_reasons(register: tuple[LocalNode, Path]) -> None:
    node, _ = register
    source, local_ids = REGISTER
    # support_coordination releases some of the register's items and not others: partial, with reasons.
    request = _request("support_coordination", ("relationship_to_head", "foreign_national"))
    batched = node.records(request, source, local_ids)
    singles = [node.record(request, source, local_id) for local_id in local_ids]
    assert batched.refused == singles[0].refused and batched.refused
    assert_frame_equal(batched.data, pl.concat([s.data for s in singles]), check_exact=True)
    assert set(batched.data["item_id"]) <= set(request.items) - set(batched.refused)
    assert _log(node, request.request_id)[-1]["outcome"] == "partial"


def test_a_purpose_that_releases_nothing_refuses_the_batch_as_it_refuses_a_record(
        register: tuple[LocalNode, Path]) -> None:
    node, _ = register
    source, local_ids = REGISTER
    request = _request("no_such_purpose")
    with pytest.raises(NodeRefusedError) as single:
        node.record(request, source, local_ids[0])
    with pytest.raises(NodeRefusedError) as batch:
        node.records(request, source, local_ids)
    assert batch.value.reason == single.value.reason
    assert [(r["kind"], r["outcome"], r["subjects"]) for r in _log(node, request.request_id)] == [
        ("record", "refused", 0), ("records", "refused", 0)]


def test_no_local_id_is_an_empty_answer_with_the_records_columns(register: tuple[LocalNode, Path]) -> None:
    node, _ = register
    empty = node.records(_request(), REGISTER[0], [])
    assert empty.data.height == 0
    assert empty.data.schema == node.record(_request(), REGISTER[0], "9999999999").data.schema


def test_the_batch_answers_alike_over_http_and_checks_its_local_ids(world: World) -> None:
    department = "family_centre"
    request = NodeRequest("staff:tanaka", "centre_caseworker", "assessment", ITEMS[department])
    local_ids = ["C0001", "相談R8/0003", "C0002"]
    with world.http(department) as remote:
        answer = remote.records(request, "kodomo_center", local_ids)
    _same(world.locals[department].records(request, "kodomo_center", local_ids), answer)
    assert set(answer.data["local_id"]) >= {"C0001", "相談R8/0003"}
    assert world.seen[-1].kind == "records" and world.seen[-1].outcome == "released"
    # A pair of another source in the body is refused before the node reads anything.
    body = wire.request_body(department, "records", request, AS_OF, "kodomo_center",
                             local_ids=[("kodomo_center", "C0001"), ("juki_jumin", "1000000001")])
    response = _post(world.servers[department].url + "/records", body,
                     signed_headers(department, HUB, world.hub_key, body))
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")
