"""Rows that did not load keep their key where it can be read; the node says whose data has them.

Hand-made exports: a register row with a broken birth date (quarantined, key readable), a 児童扶養手当
row whose 支給状況 code is unknown (loaded without it: flagged), one with a blank 児童宛名番号 and one
with more cells than its header (both quarantined, naming nobody).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from support.exports import JUKI_HEADER, juki_row, write_csv
from support.serving import served
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.ingest.load import Ingestor
from tsunagu.vault.http import ExchangeRecord, HttpNode, Timeouts
from tsunagu.vault.http.server import create_app
from tsunagu.vault.node import LocalNode, NodeRefusedError, NodeRequest
from tsunagu.vault.store import Vault, VaultLocation

AS_OF = date(2026, 10, 31)
JIFU_HEADER = "受給者宛名番号,児童宛名番号,児童氏名,認定日,支給状況"
ITEM = "child_rearing_allowance"


@dataclass
class Vaults:
    folder: Path

    def node(self, department: str) -> LocalNode:
        vault = Vault(VaultLocation.for_home(department, self.folder, "sqlite:///unused"))
        return LocalNode(department, vault, packaged_manifests())

    def log(self, department: str) -> list[tuple[str, str, str, int]]:
        with sqlite3.connect(self.folder / f"{department}.sqlite3") as conn:
            return list(conn.execute("select kind, purpose, outcome, subjects from request_log order by log_id"))


def _ingest(inbox: Path, vaults: Path, *, columnar: bool = True) -> None:
    ingestor = Ingestor(packaged_manifests(), vaults, f"sqlite:///{inbox.parent / 'hub.sqlite3'}", columnar=columnar)
    try:
        report = ingestor.ingest([inbox])
    finally:
        ingestor.close()
    assert not report.refused, report.refused


def _exports(inbox: Path, day: str = "20261031", *, fixed: bool = False) -> None:
    write_csv(inbox / f"juki_jumin_{day}.csv", JUKI_HEADER, [
        juki_row("1000000001"),
        juki_row("1000000002", birth="R2.5.6" if fixed else "令和2年2月30日"),
    ])
    write_csv(inbox / f"jifu_teate_{day}.csv", JIFU_HEADER, [
        "2000000001,1000000001,髙橋　太郎,令和8年4月1日,全部支給",
        f"2000000002,1000000003,佐藤　花子,令和8年4月1日,{'一部支給' if fixed else '不明コード'}",
        "2000000003,,田中　次郎,令和8年4月1日,全部支給",
        "2000000004,1000000005,鈴木,一郎,令和8年4月1日,全部支給",  # a stray separator: one cell too many
    ])


@pytest.fixture(scope="module", params=[True, False], ids=["columnar", "row-by-row"])
def vaults(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vaults]:
    tmp = tmp_path_factory.mktemp("unreadable")
    _exports(tmp / "in")
    _ingest(tmp / "in", tmp / "vaults", columnar=request.param)
    yield Vaults(tmp / "vaults")


def _system(items: tuple[str, ...], purpose: str = "outreach") -> NodeRequest:
    return NodeRequest("hub:outreach:test", "system", purpose, items)


def test_quarantine_keeps_the_key_only_where_its_own_column_can_be_read(vaults: Vaults) -> None:
    with sqlite3.connect(vaults.folder / "child_support.sqlite3") as conn:
        rows = dict(conn.execute("select row_number, local_id from quarantine where source = 'jifu_teate'").fetchall())
    assert rows == {2: "1000000003", 3: None, 4: None}  # flagged (loaded), blank key, shifted row
    with sqlite3.connect(vaults.folder / "resident_registry.sqlite3") as conn:
        assert conn.execute("select distinct local_id from quarantine").fetchall() == [("1000000002",)]


def test_the_node_names_subjects_with_unreadable_rows_and_counts_the_rest(vaults: Vaults) -> None:
    node = vaults.node("child_support")
    answer = node.unreadable(_system((ITEM,)), AS_OF).data
    assert answer.columns == ["source", "local_id", "item_id", "rows", "snapshot_date"]  # never a row's content
    got = {(r["local_id"], r["rows"]) for r in answer.iter_rows(named=True)}
    assert got == {("1000000003", 1), (None, 2)}
    assert set(answer["item_id"]) == {ITEM} and set(answer["snapshot_date"]) == {AS_OF}
    assert vaults.log("child_support")[-1] == ("unreadable", "outreach", "released", 1)
    node.vault.dispose()


def test_a_row_that_did_not_load_counts_for_every_item_it_feeds(vaults: Vaults) -> None:
    node = vaults.node("resident_registry")
    answer = node.unreadable(_system(("move_out_date", "relationship_to_head")), AS_OF).data
    assert sorted(answer.select("local_id", "item_id").rows()) == [
        ("1000000002", "move_out_date"), ("1000000002", "relationship_to_head")]
    node.vault.dispose()


def test_an_item_the_department_does_not_hold_is_refused_on_its_record(vaults: Vaults) -> None:
    node = vaults.node("child_support")
    with pytest.raises(NodeRefusedError):
        node.unreadable(_system(("school_aid",)), AS_OF)
    assert vaults.log("child_support")[-1][:3] == ("unreadable", "outreach", "refused")
    node.vault.dispose()


def test_a_newer_export_that_loads_the_row_clears_it_and_the_older_snapshot_keeps_it(tmp_path: Path) -> None:
    _exports(tmp_path / "in")
    _ingest(tmp_path / "in", tmp_path / "vaults")
    _exports(tmp_path / "in2", "20261130", fixed=True)
    _ingest(tmp_path / "in2", tmp_path / "vaults")
    node = Vaults(tmp_path / "vaults").node("child_support")
    now = node.unreadable(_system((ITEM,)), date(2026, 11, 30)).data
    then = node.unreadable(_system((ITEM,)), AS_OF).data
    assert now["local_id"].drop_nulls().to_list() == []
    assert then["local_id"].drop_nulls().to_list() == ["1000000003"]
    node.vault.dispose()


def test_over_http_the_answer_is_the_same_and_both_sides_log_it(vaults: Vaults) -> None:
    hub_key, node_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    local = vaults.node("child_support")
    app = create_app(local, node_key=node_key, hub_keys={"hub-test": hub_key.public_key()})
    seen: list[ExchangeRecord] = []
    with served(app) as url, HttpNode("child_support", url, hub_key, node_key.public_key(), hub_id="hub-test",
                                      timeout=Timeouts(1.0, 5.0), retries=0, on_exchange=seen.append) as remote:
        request = _system((ITEM,))
        answer = remote.unreadable(request, AS_OF)
    expected = local.unreadable(_system((ITEM,)), AS_OF)
    assert answer.data.equals(expected.data) and answer.digest == expected.digest
    assert [(r.kind, r.purpose, r.outcome) for r in seen] == [("unreadable", "outreach", "released")]
    assert answer.data.filter(pl.col("local_id").is_null())["rows"].to_list() == [2]
    local.vault.dispose()
