"""The HTTP transport: same answers as the in-process node, signed both ways, faults contained.

Three node services (three departments) run on loopback in threads for the whole module; every
wait below is bounded.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from polars.testing import assert_frame_equal

from support.exports import JUKI_HEADER, juki_row, write_csv
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.ingest.load import Ingestor
from tsunagu.vault.errors import NodeAuthenticationError, NodeUnavailableError
from tsunagu.vault.http import ExchangeRecord, HttpNode, Timeouts, signed_headers, signing, wire
from tsunagu.vault.http.server import create_app, nonces_from_log
from tsunagu.vault.node import LocalNode, NodeAnswer, NodeRefusedError, NodeRequest
from tsunagu.vault.store import Vault, VaultLocation

AS_OF = date(2026, 10, 31)
HUB = "hub-test"
DEPARTMENTS = ("resident_registry", "board_of_education", "family_centre")
ENJO_HEADER = "宛名番号,認定区分,認定日"
CENTRE_HEADER = "相談番号,宛名番号,氏名,カナ氏名,生年月日,相談種別,虐待種別,受付日,要対協登録,支援状況"
ITEMS = {
    "resident_registry": ("relationship_to_head", "foreign_national", "move_out_date"),
    "board_of_education": ("school_aid",),
    "family_centre": ("family_consultation", "abuse_consultation", "yotaikyo_registration", "centre_case_open"),
}
RECORD = {"resident_registry": ("juki_jumin", "1000000001"), "board_of_education": ("shugaku_enjo", "1000000001"),
          "family_centre": ("kodomo_center", "C0001")}

Asgi = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class ServerThread:
    """A uvicorn server on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        service = getattr(getattr(self.app, "state", None), "service", None)
        if service is not None:
            service.node.vault.dispose()


@dataclass
class World:
    vault_dir: Path
    hub_key: Ed25519PrivateKey
    node_keys: dict[str, Ed25519PrivateKey]
    servers: dict[str, ServerThread] = field(default_factory=dict)
    locals: dict[str, LocalNode] = field(default_factory=dict)
    seen: list[ExchangeRecord] = field(default_factory=list)

    def vault(self, department: str) -> Vault:
        return Vault(VaultLocation.for_home(department, self.vault_dir, "sqlite:///unused"))

    def app(self, department: str, **kwargs: Any) -> Any:
        node = LocalNode(department, self.vault(department), packaged_manifests())
        return create_app(node, node_key=self.node_keys[department],
                          hub_keys={HUB: self.hub_key.public_key()}, **kwargs)

    def http(self, department: str, url: str | None = None, **kwargs: Any) -> HttpNode:
        options: dict[str, Any] = {"hub_id": HUB, "timeout": Timeouts(1.0, 5.0), "retries": 0,
                                   "on_exchange": self.seen.append}
        options.update(kwargs)
        node_key = options.pop("node_public_key", self.node_keys[department].public_key())
        hub_key = options.pop("hub_key", self.hub_key)
        return HttpNode(department, url or self.servers[department].url, hub_key, node_key, **options)

    def log_rows(self, department: str, where: str = "1=1") -> list[dict[str, Any]]:
        with sqlite3.connect(self.vault_dir / f"{department}.sqlite3") as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(f"select * from request_log where {where} order by log_id")]


def _ingest(tmp: Path) -> Path:
    inbox = tmp / "in"
    write_csv(inbox / "juki_jumin_20261031.csv", JUKI_HEADER, [
        juki_row("1000000001"),
        juki_row("1000000002", name="佐藤　花子", kana="ｻﾄｳ ﾊﾅｺ", birth="R2.5.6", sex="女"),
        juki_row("1000000003", name="鈴木　一郎", kana="ｽｽﾞｷ ｲﾁﾛｳ", status="転出", moved="R8.9.30"),
    ])
    write_csv(inbox / "shugaku_enjo_20261031.csv", ENJO_HEADER, ["1000000001,準要保護,令和8年4月1日"])
    write_csv(inbox / "kodomo_center_20261031.csv", CENTRE_HEADER, [
        "C0001,1000000001,髙橋　太郎,ﾀｶﾊｼ ﾀﾛｳ,平成30年4月1日,養護相談,ネグレクト,令和8年9月1日,要支援児童,支援中",
        "C0002,,田中　次郎,ﾀﾅｶ ｼﾞﾛｳ,令和元年7月7日,育成相談,,令和8年10月1日,,終結",
        "相談R8/0003,1000000002,佐藤　花子,ｻﾄｳ ﾊﾅｺ,令和2年5月6日,保健相談,,令和8年10月2日,,支援中",
    ])
    vault_dir = tmp / "vaults"
    ingestor = Ingestor(packaged_manifests(), vault_dir, f"sqlite:///{tmp / 'hub.sqlite3'}")
    try:
        report = ingestor.ingest([inbox])
    finally:
        ingestor.close()
    assert not report.refused, report.refused
    assert all(f.quarantined == 0 for f in report.files), report.as_json()
    return vault_dir


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("http")
    w = World(_ingest(tmp), Ed25519PrivateKey.generate(), {d: Ed25519PrivateKey.generate() for d in DEPARTMENTS})
    try:
        for department in DEPARTMENTS:
            w.servers[department] = ServerThread(w.app(department)).start()
            w.locals[department] = LocalNode(department, w.vault(department), packaged_manifests())
        yield w
    finally:
        for server in w.servers.values():
            server.stop()
        for node in w.locals.values():
            node.vault.dispose()


def _request(purpose: str = "screening", items: tuple[str, ...] = ()) -> NodeRequest:
    return NodeRequest("staff:tanaka", "screening_officer", purpose, items)


def _same(local: NodeAnswer, remote: NodeAnswer) -> None:
    assert_frame_equal(local.data, remote.data, check_dtypes=True, check_exact=True)
    assert local.data.schema == remote.data.schema
    assert (local.department, local.request_id, local.refused, local.digest) == (
        remote.department, remote.request_id, remote.refused, remote.digest)


def _post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        return client.post(url, content=body, headers=headers)


def _signed_request(world: World, department: str, request: NodeRequest, *, now: datetime | None = None
                    ) -> tuple[bytes, dict[str, str]]:
    body = wire.request_body(department, "items", request, AS_OF)
    return body, signed_headers(department, HUB, world.hub_key, body, now=now)


def _response_is_signed(world: World, department: str, response: httpx.Response, nonce: str) -> bool:
    message = signing.response_message(department, nonce, response.status_code, signing.body_sha256(response.content))
    return signing.verify(world.node_keys[department].public_key(), response.headers[wire.H_SIGNATURE], message)


# -- one contract, two transports ------------------------------------------------------------------
def test_three_nodes_over_http_answer_exactly_like_in_process(world: World) -> None:
    for department in DEPARTMENTS:
        local, remote = world.locals[department], world.http(department)
        with remote:
            identifiers = _request()
            _same(local.identifiers(identifiers), remote.identifiers(identifiers))
            _same(local.identifiers(identifiers, AS_OF), remote.identifiers(identifiers, AS_OF))
            items = _request(items=ITEMS[department])
            local_items, remote_items = local.items(items, AS_OF), remote.items(items, AS_OF)
            _same(local_items, remote_items)
            assert remote_items.data.height > 0
            detail = _request("assessment", ITEMS[department])
            source, local_id = RECORD[department]
            _same(local.record(detail, source, local_id), remote.record(detail, source, local_id))
            # An empty answer keeps its column types across the wire too.
            nobody = _request("assessment", ITEMS[department])
            _same(local.record(nobody, source, "9999999999"), remote.record(nobody, source, "9999999999"))


def test_a_record_answer_carries_only_the_items_asked_for(world: World) -> None:
    # The node reads all of the record's observations by its own index and keeps the asked-for
    # items after the fetch: the others must never reach the answer (or its digest).
    node = world.locals["family_centre"]
    source, local_id = RECORD["family_centre"]
    everything = node.record(_request("assessment", ITEMS["family_centre"]), source, local_id)
    held = sorted(set(everything.data["item_id"]))
    assert len(held) >= 2
    answer = node.record(_request("assessment", (held[0],)), source, local_id)
    assert set(answer.data["item_id"]) == {held[0]}
    assert answer.data.height == everything.data.filter(pl.col("item_id") == held[0]).height
    assert answer.digest != everything.digest


def test_a_local_id_with_a_slash_and_kanji_reaches_its_record(world: World) -> None:
    request = _request("assessment", ITEMS["family_centre"])
    with world.http("family_centre") as remote:
        answer = remote.record(request, "kodomo_center", "相談R8/0003")
    _same(world.locals["family_centre"].record(request, "kodomo_center", "相談R8/0003"), answer)
    assert set(answer.data["local_id"]) == {"相談R8/0003"}


def test_partial_release_crosses_the_wire_with_its_reasons(world: World) -> None:
    request = _request("support_coordination", ("relationship_to_head", "foreign_national"))
    local = world.locals["resident_registry"].items(request, AS_OF)
    with world.http("resident_registry") as remote:
        answer = remote.items(request, AS_OF)
    _same(local, answer)
    assert set(answer.refused) == {"foreign_national"}
    record = world.seen[-1]
    assert (record.request_id, record.outcome, record.digest) == (request.request_id, "partial", answer.digest)
    node_rows = world.log_rows("resident_registry", f"request_id = '{request.request_id}'")
    assert [r["outcome"] for r in node_rows] == ["partial", "partial"]  # the local call and the HTTP call
    # The message's nonce has its own column; an in-process call has none. The reason is the node's alone.
    assert [r["nonce"] for r in node_rows] == [None, record.nonce]
    assert node_rows[-1]["reason"] == node_rows[0]["reason"]
    assert node_rows[-1]["answer_digest"] == answer.digest


# -- identifiers of a few records ------------------------------------------------------------------
FEW = {
    "resident_registry": [("juki_jumin", "1000000003"), ("juki_jumin", "1000000001"), ("kodomo_center", "C0001")],
    "board_of_education": [("shugaku_enjo", "1000000001"), ("juki_jumin", "1000000002")],
    "family_centre": [("kodomo_center", "相談R8/0003"), ("kodomo_center", "C0002"), ("juki_jumin", "1000000001")],
}


def _only(frame: pl.DataFrame, pairs: list[tuple[str, str]]) -> pl.DataFrame:
    wanted = pl.DataFrame(pairs, schema={"source": pl.Utf8, "local_id": pl.Utf8}, orient="row")
    return frame.join(wanted, on=["source", "local_id"], how="semi", maintain_order="left")


def test_identifiers_of_a_few_records_answer_exactly_like_in_process(world: World) -> None:
    for department, pairs in FEW.items():
        local = world.locals[department]
        everyone = local.identifiers(_request()).data
        with world.http(department) as remote:
            request = _request()
            local_answer = local.identifiers(request, local_ids=pairs)
            remote_answer = remote.identifiers(request, local_ids=pairs)
            _same(local_answer, remote_answer)
            _same(local.identifiers(request, AS_OF, local_ids=pairs), remote.identifiers(request, AS_OF, local_ids=pairs))
        # Only the records asked for, in the order of the whole set; a pair of another source is no row.
        expected = _only(everyone, pairs)
        assert 0 < expected.height < everyone.height or department == "board_of_education"
        assert_frame_equal(remote_answer.data, expected, check_exact=True)
        assert expected.height == len([p for p in pairs if p[0] in set(everyone["source"])])
        rows = world.log_rows(department, f"request_id = '{request.request_id}'")
        assert [(r["kind"], r["outcome"], r["subjects"]) for r in rows] == [("identifiers", "released", expected.height)] * 4
        assert [r["nonce"] is None for r in rows] == [True, False, True, False]


def test_a_local_id_of_another_departments_source_returns_no_row(world: World) -> None:
    # 1000000001 is a resident, but of the register's source: asked for under another source, nobody.
    cases = {"family_centre": [("juki_jumin", "1000000001")],
             "resident_registry": [("shugaku_enjo", "1000000001"), ("kodomo_center", "C0001")],
             "board_of_education": []}
    for department, pairs in cases.items():
        request = _request()
        local = world.locals[department].identifiers(request, local_ids=pairs)
        with world.http(department) as remote:
            answer = remote.identifiers(request, local_ids=pairs)
        _same(local, answer)
        assert answer.data.height == 0
        assert answer.data.schema == world.locals[department].identifiers(_request()).data.schema
        assert world.seen[-1].rows == 0
        rows = world.log_rows(department, f"request_id = '{request.request_id}'")
        assert [(r["outcome"], r["subjects"]) for r in rows] == [("released", 0)] * 2


def test_identifiers_of_a_few_records_still_follow_the_purpose(world: World) -> None:
    request = _request("statistics")
    pairs = [("juki_jumin", "1000000001")]
    with pytest.raises(NodeRefusedError) as local_refusal:
        world.locals["resident_registry"].identifiers(request, local_ids=pairs)
    with world.http("resident_registry") as remote, pytest.raises(NodeRefusedError) as refusal:
        remote.identifiers(request, local_ids=pairs)
    assert refusal.value.reason == local_refusal.value.reason
    rows = world.log_rows("resident_registry", f"request_id = '{request.request_id}'")
    assert [(r["outcome"], r["subjects"]) for r in rows] == [("refused", 0)] * 2


def test_many_local_ids_are_asked_for_in_batches(world: World) -> None:
    pairs = [("juki_jumin", f"2{i:09d}") for i in range(1_200)] + FEW["resident_registry"] * 2
    request = _request()
    local = world.locals["resident_registry"]
    with world.http("resident_registry") as remote:
        answer = remote.identifiers(request, local_ids=pairs)
    _same(local.identifiers(request, local_ids=pairs), answer)
    assert_frame_equal(answer.data, local.identifiers(request, local_ids=FEW["resident_registry"]).data)


def test_local_ids_belong_to_identifiers_only(world: World) -> None:
    request = _request(items=("school_aid",))
    assert b"local_ids" not in wire.request_body("board_of_education", "items", request, AS_OF)
    body = wire.request_body("board_of_education", "items", request, AS_OF, local_ids=[("shugaku_enjo", "1")])
    headers = signed_headers("board_of_education", HUB, world.hub_key, body)
    response = _post(world.servers["board_of_education"].url + "/items", body, headers)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")
    assert "local_ids" in response.json()["error"]["message"]
    row = world.log_rows("board_of_education", f"request_id = '{request.request_id}'")[-1]
    assert (row["outcome"], row["nonce"]) == ("refused", headers[wire.H_NONCE])


# -- refusals ----------------------------------------------------------------------------------------
def test_item_outside_purpose_is_refused_with_the_nodes_reason_on_both_sides(world: World) -> None:
    request = _request("support_coordination", ("foreign_national",))
    with pytest.raises(NodeRefusedError) as local_refusal:
        world.locals["resident_registry"].items(request, AS_OF)
    with world.http("resident_registry") as remote, pytest.raises(NodeRefusedError) as refusal:
        remote.items(request, AS_OF)
    assert not isinstance(refusal.value, NodeAuthenticationError)
    assert refusal.value.reason == local_refusal.value.reason
    assert "support_coordination" in refusal.value.reason
    hub_side = world.seen[-1]
    assert (hub_side.outcome, hub_side.reason, hub_side.status) == ("refused", refusal.value.reason, 403)
    node_side = world.log_rows("resident_registry", f"request_id = '{request.request_id}'")[-1]
    assert node_side["outcome"] == "refused"
    assert (node_side["reason"], node_side["nonce"]) == (refusal.value.reason, hub_side.nonce)


def test_signature_by_an_unregistered_key_is_refused_and_logged_on_both_sides(world: World) -> None:
    request = _request(items=("school_aid",))
    with world.http("board_of_education", hub_key=Ed25519PrivateKey.generate()) as forged, \
            pytest.raises(NodeAuthenticationError) as refusal:
        forged.items(request, AS_OF)
    assert refusal.value.code == "bad_signature"
    hub_side = world.seen[-1]
    assert (hub_side.outcome, hub_side.status, hub_side.request_id) == ("refused", 401, request.request_id)
    rows = world.log_rows("board_of_education", f"request_id = '{request.request_id}'")
    assert len(rows) == 1
    assert (rows[0]["outcome"], rows[0]["requester"], rows[0]["subjects"]) == ("refused", HUB, 0)
    assert rows[0]["reason"].startswith("bad_signature:")
    assert rows[0]["nonce"] is None  # a signature that does not verify makes the nonce nobody's


def test_tampered_body_is_refused_and_logged(world: World) -> None:
    request = _request(items=("school_aid",))
    body, headers = _signed_request(world, "board_of_education", request)
    tampered = body.replace(b'"screening"', b'"assessment"')
    response = _post(world.servers["board_of_education"].url + "/items", tampered, headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert _response_is_signed(world, "board_of_education", response, headers[wire.H_NONCE])
    row = world.log_rows("board_of_education", f"request_id = '{request.request_id}'")[-1]
    # The log keeps what the forged message claimed, marked refused.
    assert (row["outcome"], row["purpose"], row["requester"]) == ("refused", "assessment", HUB)
    # An unverified nonce is recorded as a claim, never in the column a restarted node reloads.
    assert row["nonce"] is None and headers[wire.H_NONCE] in row["reason"]


def test_replayed_request_is_refused_and_logged(world: World) -> None:
    request = _request(items=("school_aid",))
    body, headers = _signed_request(world, "board_of_education", request)
    url = world.servers["board_of_education"].url + "/items"
    first, replay = _post(url, body, headers), _post(url, body, headers)
    assert first.status_code == 200
    assert replay.status_code == 401
    assert replay.json() == {"error": {"code": "replay", "message": replay.json()["error"]["message"]}}
    assert _response_is_signed(world, "board_of_education", replay, headers[wire.H_NONCE])
    rows = world.log_rows("board_of_education", f"request_id = '{request.request_id}'")
    assert [r["outcome"] for r in rows] == ["released", "refused"]
    assert rows[1]["reason"] == f"replay: {replay.json()['error']['message']}"
    assert [r["nonce"] for r in rows] == [headers[wire.H_NONCE]] * 2


def test_replay_stays_refused_after_the_node_restarts(world: World) -> None:
    request = _request(items=("school_aid",))
    body, headers = _signed_request(world, "board_of_education", request)
    first = ServerThread(world.app("board_of_education")).start()
    try:
        assert _post(first.url + "/items", body, headers).status_code == 200
    finally:
        first.stop()
    restarted = ServerThread(world.app("board_of_education")).start()
    try:
        replay = _post(restarted.url + "/items", body, headers)
    finally:
        restarted.stop()
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "replay"


def test_a_forged_message_cannot_plant_its_nonce_for_a_restarted_node(world: World) -> None:
    request = _request(items=("school_aid",))
    body, headers = _signed_request(world, "board_of_education", request)
    forged = signed_headers("board_of_education", HUB, Ed25519PrivateKey.generate(), body,
                            nonce=headers[wire.H_NONCE])
    first = ServerThread(world.app("board_of_education")).start()
    try:
        assert _post(first.url + "/items", body, forged).status_code == 401
    finally:
        first.stop()
    vault = world.vault("board_of_education")
    try:
        reloaded = {nonce for nonce, _at in nonces_from_log(vault, datetime.now(UTC) - timedelta(minutes=5))}
    finally:
        vault.dispose()
    assert headers[wire.H_NONCE] not in reloaded
    restarted = ServerThread(world.app("board_of_education")).start()
    try:
        # The hub's own message with that nonce is still accepted: the stranger's claim was not remembered.
        assert _post(restarted.url + "/items", body, headers).status_code == 200
    finally:
        restarted.stop()


@pytest.mark.parametrize("offset_s", [-300, 300])
def test_timestamp_outside_the_window_is_refused(world: World, offset_s: int) -> None:
    request = _request(items=("school_aid",))
    body, headers = _signed_request(world, "board_of_education", request,
                                    now=datetime.now(UTC) + timedelta(seconds=offset_s))
    response = _post(world.servers["board_of_education"].url + "/items", body, headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale"
    row = world.log_rows("board_of_education", f"request_id = '{request.request_id}'")[-1]
    assert row["outcome"] == "refused" and row["reason"].startswith("stale:")


def test_unknown_hub_is_refused(world: World) -> None:
    with world.http("family_centre", hub_id="someone-else") as stranger, \
            pytest.raises(NodeAuthenticationError) as refusal:
        stranger.identifiers(_request())
    assert refusal.value.code == "unknown_hub"
    assert world.log_rows("family_centre", "requester = 'someone-else'")


# -- faults ------------------------------------------------------------------------------------------
def test_answer_signed_by_another_node_is_unavailable(world: World) -> None:
    impostor_key = world.node_keys["family_centre"].public_key()
    with world.http("board_of_education", node_public_key=impostor_key) as remote, \
            pytest.raises(NodeUnavailableError) as failure:
        remote.identifiers(_request())
    assert "signature" in failure.value.reason
    assert world.seen[-1].outcome == "unavailable"


def test_stopped_node_is_unavailable_after_the_configured_retries(world: World) -> None:
    server = ServerThread(world.app("resident_registry")).start()
    server.stop()
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        time.sleep(seconds)

    started = time.monotonic()
    with world.http("resident_registry", url=server.url, retries=2, backoff=0.01, timeout=Timeouts(0.5, 0.5),
                    sleep=pause) as remote, \
            pytest.raises(NodeUnavailableError) as failure:
        remote.identifiers(_request())
    assert time.monotonic() - started < 5
    assert pauses == [0.01, 0.02]
    assert failure.value.department == "resident_registry"
    assert "3" in failure.value.reason
    assert (world.seen[-1].outcome, world.seen[-1].attempts) == ("unavailable", 3)


def _junk_app(node_key: Ed25519PrivateKey, department: str) -> tuple[Asgi, list[str]]:
    """A server that is not a node: it answers each path with a different kind of garbage."""
    hits: list[str] = []

    async def app(scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]],
                  send: Callable[[Any], Awaitable[None]]) -> None:
        assert scope["type"] == "http"
        while (await receive()).get("more_body"):
            pass
        path = scope["path"]
        hits.append(path)
        nonce = dict(scope["headers"]).get(wire.H_NONCE.lower().encode(), b"").decode()
        status, body = 200, b"<html>not a node</html>"
        if path.startswith("/slow"):
            await asyncio.sleep(0.6)  # longer than the client's read timeout
        elif path.startswith("/fail"):
            status, body = 503, b"busy"
        elif path.startswith("/badipc"):
            body = json.dumps({"v": 1, "department": department, "request_id": "x", "kind": "identifiers",
                               "refused": {}, "digest": "0", "rows": 0, "frame": "QVJST1cx"}).encode()
        headers = [(b"content-type", b"application/json")]
        if path.startswith(("/signed", "/badipc")):
            message = signing.response_message(department, nonce, status, signing.body_sha256(body))
            headers.append((wire.H_SIGNATURE.lower().encode(), signing.sign(node_key, message).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app, hits


def test_garbage_answers_make_the_node_unavailable(world: World) -> None:
    department = "family_centre"
    app, hits = _junk_app(world.node_keys[department], department)
    junk = ServerThread(app).start()
    try:
        cases = {
            "/plain": "signature",  # not JSON, not signed
            "/signed": "unreadable answer",  # signed, but not JSON
            "/badipc": "Arrow IPC",  # signed JSON whose frame is not Arrow IPC
            "/slow": "ReadTimeout",
            "/fail": "HTTP 503",
        }
        for prefix, expected in cases.items():
            with world.http(department, url=junk.url + prefix, retries=1, backoff=0.0,
                            timeout=Timeouts(0.5, 0.2)) as remote, pytest.raises(NodeUnavailableError) as failure:
                remote.identifiers(_request())
            assert expected in failure.value.reason, (prefix, failure.value.reason)
            assert world.seen[-1].outcome == "unavailable"
    finally:
        junk.stop()
    # Garbage is not retried; a timeout and a 5xx are (two attempts each).
    assert [h.split("/")[1] for h in hits] == ["plain", "signed", "badipc", "slow", "slow", "fail", "fail"]


# -- PostgreSQL vaults -----------------------------------------------------------------------------------
@pytest.mark.postgres
def test_node_on_a_postgres_vault_answers_and_remembers_nonces_across_a_restart(tmp_path: Path, pg_url: str) -> None:
    inbox = write_csv(tmp_path / "in" / "shugaku_enjo_20261031.csv", ENJO_HEADER,
                      ["2000000001,要保護,令和8年4月1日", "2000000002,準要保護,令和8年5月1日"])
    ingestor = Ingestor(packaged_manifests(), tmp_path / "v", pg_url)
    try:
        assert not ingestor.ingest([inbox]).refused
    finally:
        ingestor.close()
    location = VaultLocation.for_home("board_of_education", tmp_path / "v", pg_url)
    hub_key, node_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()

    def app() -> Any:
        node = LocalNode("board_of_education", Vault(location), packaged_manifests())
        return create_app(node, node_key=node_key, hub_keys={HUB: hub_key.public_key()})

    local = LocalNode("board_of_education", Vault(location), packaged_manifests())
    request = _request(items=("school_aid",))
    body = wire.request_body("board_of_education", "items", request, AS_OF)
    headers = signed_headers("board_of_education", HUB, hub_key, body)
    server = ServerThread(app()).start()
    try:
        with HttpNode("board_of_education", server.url, hub_key, node_key.public_key(), hub_id=HUB) as remote:
            _same(local.items(request, AS_OF), remote.items(request, AS_OF))
            few = [("shugaku_enjo", "2000000002"), ("juki_jumin", "2000000001")]
            ids_request = _request()
            answer = remote.identifiers(ids_request, local_ids=few)
            _same(local.identifiers(ids_request, local_ids=few), answer)
            assert answer.data["local_id"].to_list() == ["2000000002"]
        assert _post(server.url + "/items", body, headers).status_code == 200
    finally:
        server.stop()
        local.vault.dispose()
    restarted = ServerThread(app()).start()
    try:
        replay = _post(restarted.url + "/items", body, headers)
    finally:
        restarted.stop()
    assert (replay.status_code, replay.json()["error"]["code"]) == (401, "replay")
