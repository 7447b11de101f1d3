"""Findings of the security probe (issue 18) at the level of the work services and the nodes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tsunagu.ingest.manifest import manifests_for_home
from tsunagu.privacy import AuditEntry, Subject, access_history
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.vault.topology import close_nodes, open_nodes
from tsunagu.work.child import ChildView, open_child
from tsunagu.work.unit import unit_of_work
from work.builders import Home

PRINCIPAL = Subject("head1", "school_manager", "S001")
SENSITIVE_DEPARTMENTS = ("child_guidance", "public_assistance")
PLACEMENT = "北町9丁目"  # the 児童相談所 record's address, not the register's


@pytest.fixture
def nodes(home: Home) -> Iterator[dict[str, Node]]:
    opened = open_nodes(home.settings)
    yield opened
    close_nodes(opened)


def _open(home: Home, subject: Subject, purpose: str, nodes: dict[str, Node]) -> ChildView:
    with unit_of_work(home.factory) as session:
        return open_child(session, subject, purpose, "P0001", nodes=nodes,
                          manifests=manifests_for_home(home.settings.home), cipher=home.cipher)


def _view_items(home: Home, actor: str) -> list[str]:
    with home.factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.actor == actor, AuditEntry.action == "child.view")
                                .order_by(AuditEntry.seq.desc()).limit(1)).one()
        return list(json.loads(entry.items))


@pytest.mark.parametrize(("who", "purpose"), [("teacher1", "assessment"), ("head1", "screening")])
def test_school_staff_see_no_sensitive_department(home: Home, nodes: dict[str, Node], who: str, purpose: str) -> None:
    subject = PRINCIPAL if who == "head1" else home.subject(who)
    view = _open(home, subject, purpose, nodes)
    shown = json.dumps(view.__dict__, default=str, ensure_ascii=False)
    assert not {link.department for link in view.links} & set(SENSITIVE_DEPARTMENTS)
    for word in ("児童相談所", "生活保護", "生活福祉課", "jisou", "seiho", "J-2026-0042", PLACEMENT):
        assert word not in shown, word
    assert view.links, "the school's own record is still shown"
    items = _view_items(home, who)
    assert "record:schools:school_kiroku" in items
    assert not any(i.startswith(("record:child_guidance", "record:public_assistance")) for i in items)


def test_a_caseworker_sees_them_and_the_family_history_says_so(home: Home, nodes: dict[str, Node]) -> None:
    view = _open(home, home.subject("cw1"), "assessment", nodes)
    assert {"child_guidance", "public_assistance"} <= {link.department for link in view.links}
    assert any(PLACEMENT in row.values.get("住所", "") for row in view.identity)
    assert "record:child_guidance:jisou" in _view_items(home, "cw1")
    with home.factory() as session:
        history = access_history(session, "P0001")
    shown = [r for r in history if r.action == "child.view" and r.outcome == "allowed"]
    assert shown and "record:child_guidance:jisou" in shown[-1].items


def test_nodes_enforce_the_role_on_identifiers_and_items(nodes: dict[str, Node]) -> None:
    jisou, welfare = nodes["child_guidance"], nodes["public_assistance"]
    pairs = [("jisou", "J-2026-0042")]
    for role in ("teacher", "school_manager", "data_steward", "privacy_officer", "administrator", "nobody"):
        with pytest.raises(NodeRefusedError):
            jisou.identifiers(NodeRequest("x", role, "screening"), local_ids=pairs)
        with pytest.raises(NodeRefusedError):
            jisou.record(NodeRequest("x", role, "assessment", items=("cgc_case",)), "jisou", "J-2026-0042")
        with pytest.raises(NodeRefusedError):
            welfare.record(NodeRequest("x", role, "assessment", items=("public_assistance",)), "seiho_jukyu",
                           "1000000001")
    assert jisou.identifiers(NodeRequest("x", "centre_caseworker", "screening"), local_ids=pairs).data.height == 1
    answer = jisou.record(NodeRequest("x", "centre_caseworker", "assessment", items=("cgc_case",)), "jisou",
                          "J-2026-0042")
    assert answer.data.height == 1 and not answer.refused
    # the hub's own pipelines (linkage, screening) ask as the system
    assert jisou.identifiers(NodeRequest("hub:link", "system", "screening"), local_ids=pairs).data.height == 1
