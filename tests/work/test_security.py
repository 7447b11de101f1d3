"""Findings of the security probe (issue 18) at the level of the work services and the nodes."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from support.hubs import ON_POSTGRES, nodes_of
from tsunagu.catalog.manifest import manifests_for_home
from tsunagu.commands import serve as serve_cmd
from tsunagu.privacy import AuditEntry, Subject, access_history
from tsunagu.vault.node import Node, NodeRefusedError, NodeRequest
from tsunagu.vault.topology import close_nodes
from tsunagu.web.security import client_address, parse_proxies
from tsunagu.work import users as accounts
from tsunagu.work.assignments import assign
from tsunagu.work.child import ChildView, open_child
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.models import LoginAttempt
from tsunagu.work.unit import unit_of_work
from work.builders import PASSWORD, Home

PRINCIPAL = Subject("head1", "school_manager", "S001")
SENSITIVE_DEPARTMENTS = ("child_guidance", "public_assistance")
PLACEMENT = "北町9丁目"  # the 児童相談所 record's address, not the register's


@pytest.fixture
def nodes(home: Home) -> Iterator[dict[str, Node]]:
    opened = nodes_of(home.settings)
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


def test_nodes_give_the_handover_and_the_statistics_to_the_roles_the_policy_gives_them(nodes: dict[str, Node]) -> None:
    """The purposes added since (#23 hand-over, #24 statistics) read under their own actions:
    handover.send (the centre's staff) and statistics.read (every role, published only suppressed)."""
    registry, schools = nodes["resident_registry"], nodes["schools"]
    spine = [("juki_jumin", "1000000001")]
    assert registry.identifiers(NodeRequest("x", "centre_caseworker", "handover"), local_ids=spine).data.height == 1
    for role in ("teacher", "statistics_officer", "administrator"):
        with pytest.raises(NodeRefusedError):
            registry.identifiers(NodeRequest("x", role, "handover"), local_ids=spine)
    as_of = datetime(2026, 10, 31, tzinfo=UTC).date()
    for role in ("statistics_officer", "teacher"):
        assert schools.items(NodeRequest("x", role, "statistics", ("absence_days",)), as_of).data.height > 0
    with pytest.raises(NodeRefusedError):
        schools.items(NodeRequest("x", "nobody", "statistics", ("absence_days",)), as_of)


def _entry_items(home: Home, action: str) -> list[list[str]]:
    with home.factory() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
        return [json.loads(r.items) for r in rows]


def test_an_account_that_reads_children_needs_a_second_person(home: Home) -> None:
    admin, other_admin = home.subject("admin1"), Subject("admin2", "administrator", "it")
    with unit_of_work(home.factory) as session:
        created = accounts.create_user(session, admin, "cw9", role="centre_caseworker", display_name="新任 職員",
                                       organisation="family_centre", password=PASSWORD)
        steward = accounts.create_user(session, admin, "st9", role="data_steward", display_name="データ 担当",
                                       organisation="it", password=PASSWORD)
    assert created.pending and created.created_by == "admin1" and not steward.pending
    assert ["account:cw9", "role:centre_caseworker"] in _entry_items(home, "users.manage")
    with pytest.raises(accounts.LoginFailed), unit_of_work(home.factory) as session:
        accounts.authenticate(session, "cw9", PASSWORD, "10.0.0.9")
    with pytest.raises(Invalid, match="自分で承認"), unit_of_work(home.factory) as session:
        accounts.approve_user(session, admin, "cw9")
    with pytest.raises(Refused), unit_of_work(home.factory) as session:
        accounts.approve_user(session, home.subject("teacher1"), "cw9")
    with unit_of_work(home.factory) as session:
        assert [a.user_id for a in accounts.pending_users(session, home.subject("po1"))] == ["cw9"]
        approved = accounts.approve_user(session, other_admin, "cw9")
    assert approved.approved_by == "admin2" and not approved.pending
    assert ["account:cw9", "role:centre_caseworker"] in _entry_items(home, "users.approve")
    with unit_of_work(home.factory) as session:
        assert accounts.authenticate(session, "cw9", PASSWORD, "10.0.0.9").user_id == "cw9"
        accounts.disable_user(session, admin, "teacher2")
    assert ["account:teacher2", "role:teacher"] in _entry_items(home, "users.manage")
    with home.factory() as session:
        labels = [r.items for r in access_history(session, "P0001")]
    assert labels  # the accounts' entries name no child: they are not in a family's history
    assert all(not any(i.startswith("account:") for i in items) for items in labels)


def test_a_teacher_is_assigned_pupils_of_their_own_school_only(home: Home) -> None:
    with pytest.raises(Invalid, match="在籍"), unit_of_work(home.factory) as session:
        assign(session, home.subject("admin1"), "teacher2", "P0001")  # teacher2 is at S002, P0001 at S001
    with unit_of_work(home.factory) as session:
        assert assign(session, home.subject("admin1"), "teacher2", "P0003").person_id == "P0003"
        assert assign(session, home.subject("admin1"), "teacher1", "P0004").person_id == "P0004"


def test_one_attacked_account_does_not_lock_its_address_but_spraying_does(home: Home) -> None:
    now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    proxy = "10.0.0.1"  # behind a reverse proxy every colleague may share one address
    with unit_of_work(home.factory) as session:
        for i in range(10):  # one account attacked (more than its own lock needs)
            session.add(LoginAttempt(at=now + timedelta(seconds=i), user_id="ssw1", ip=proxy, success=False))
    with home.factory() as session:
        assert accounts.locked_until(session, "ssw1", proxy, now + timedelta(minutes=1)) is not None
        assert accounts.locked_until(session, "cw1", proxy, now + timedelta(minutes=1)) is None
    with unit_of_work(home.factory) as session:  # guessing across accounts from one address
        for i in range(accounts.ADDRESS_MAX_FAILURES):
            session.add(LoginAttempt(at=now + timedelta(seconds=20 + i), user_id=f"guess{i % 4}", ip="10.9.9.9",
                                     success=False))
    with home.factory() as session:
        assert accounts.locked_until(session, "cw1", "10.9.9.9", now + timedelta(minutes=1)) is not None
        assert accounts.locked_until(session, "cw1", "10.9.9.9", now + timedelta(minutes=7)) is None


@pytest.mark.parametrize(("peer", "header", "expected"), [
    ("192.0.2.10", "203.0.113.5", "192.0.2.10"),                 # not a trusted proxy: the header is ignored
    ("10.0.0.1", "203.0.113.5", "203.0.113.5"),                   # the trusted proxy's word
    ("10.0.0.1", "198.51.100.7, 203.0.113.5", "203.0.113.5"),     # the leftmost is the client's own claim
    ("10.0.0.1", "203.0.113.5, 10.0.0.2", "203.0.113.5"),         # a chain of trusted proxies
    ("10.0.0.1", "not-an-address", "10.0.0.1"),                   # malformed: the proxy's address, no guess
    ("10.0.0.1", None, "10.0.0.1"),
    (None, "203.0.113.5", "unknown"),
])
def test_x_forwarded_for_is_honoured_only_from_a_trusted_proxy(peer: str | None, header: str | None,
                                                               expected: str) -> None:
    assert client_address(peer, header, parse_proxies("10.0.0.0/29, ::1")) == expected
    with pytest.raises(ValueError, match="trusted_proxies"):
        parse_proxies("10.0.0.1, proxy.local")


@pytest.mark.skipif(ON_POSTGRES, reason="the permissions of SQLite files: a home on PostgreSQL keeps no data file")
def test_personal_data_files_are_the_owners_alone_and_serve_refuses_loose_ones(home: Home) -> None:
    root = home.settings.home
    vaults = sorted((root / "vaults").glob("*.sqlite3"))
    assert vaults
    for path in [root / "hub.sqlite3", *vaults]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (root, root / "vaults"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    (root / "hub.sqlite3").chmod(0o644)
    app = typer.Typer()
    serve_cmd.register(app)

    @app.callback()
    def _root() -> None:
        """Group, as in the real CLI."""

    result = CliRunner().invoke(app, ["serve", "--home", str(root), "--port", "1"])
    assert result.exit_code == 3 and "chmod 600" in result.output and "hub.sqlite3" in result.output
