"""Linkage and screening through three department nodes over signed HTTP, against in-process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select
from typer.testing import CliRunner

from support.hubs import copy_home, hub_of, nodes_of
from support.municipality import SmallTown
from tsunagu.cli import app
from tsunagu.config import Settings, load_settings
from tsunagu.link.models import PersonLink
from tsunagu.link.run import run_linkage
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.screen.runs.run import ScreeningReport, run_screening
from tsunagu.vault.http import HttpNode
from tsunagu.vault.topology import close_nodes, node_app_for_home

REMOTE = ("resident_registry", "schools", "family_centre")
AS_OF = date(2026, 10, 31)
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(settings: Settings, department: str, port: int) -> Iterator[uvicorn.Server]:
    server = uvicorn.Server(uvicorn.Config(node_app_for_home(settings, department), host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, f"node {department} did not start"
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _run(home: Path) -> tuple[dict[str, frozenset[str]], dict[str, str], ScreeningReport]:
    """Link and screen; return clusters (keyed by 宛名番号), tiers (by 宛名番号) and the screening report."""
    with hub_of(home) as hub:
        with hub.sessions.begin() as session:
            run_linkage(session, hub.nodes(), hub.manifests)
        with hub.sessions.begin() as session:
            report = run_screening(session, hub.nodes(), hub.manifests, hub.catalog, hub.rule_set(), AS_OF)
        with hub.sessions() as session:
            links = session.execute(select(PersonLink.person_id, PersonLink.source, PersonLink.local_id)).all()
            tiers = dict(session.execute(select(ScreeningResult.person_id, ScreeningResult.tier)
                                         .where(ScreeningResult.run_id == report.run_id)).all())
    members: dict[str, set[str]] = {}
    aza: dict[str, str] = {}
    for person, source, local_id in links:
        members.setdefault(person, set()).add(f"{source}:{local_id}")
        if source == "juki_jumin":
            aza[person] = local_id
    clusters = {aza.get(p, min(keys)): frozenset(keys) for p, keys in members.items()}
    return clusters, {aza[p]: tier for p, tier in tiers.items() if p in aza}, report


def _remote_topology(home: Path, ports: dict[str, int]) -> None:
    home_arg = ["--home", str(home)]
    assert runner.invoke(app, ["node", "keygen", "--hub", *home_arg]).exit_code == 0
    lines = ["pattern: integrated", "hub: {id: hub-test}", "nodes:"]
    for department, port in ports.items():
        assert runner.invoke(app, ["node", "keygen", "--department", department, *home_arg]).exit_code == 0
        lines += [f"  {department}:", "    transport: http", f"    url: http://127.0.0.1:{port}",
                  f"    public_key: keys/nodes/{department}_ed25519.pub.pem"]
    lines += ["timeouts: {connect_s: 1, read_s: 60}", "retries: {attempts: 2, backoff_s: 0.05}"]
    (home / "topology.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_three_http_nodes_give_the_same_linkage_and_screening(small_town_home_copies: tuple[Path, Path]) -> None:
    local_home, remote_home = small_town_home_copies
    local_clusters, local_tiers, _ = _run(local_home)
    ports = {d: _free_port() for d in REMOTE}
    _remote_topology(remote_home, ports)
    settings = load_settings(remote_home)
    with _serving(settings, REMOTE[0], ports[REMOTE[0]]), _serving(settings, REMOTE[1], ports[REMOTE[1]]), \
            _serving(settings, REMOTE[2], ports[REMOTE[2]]):
        opened = nodes_of(settings)
        assert all(isinstance(opened[d], HttpNode) for d in REMOTE)
        close_nodes(opened)
        remote_clusters, remote_tiers, report = _run(remote_home)
    assert report.missing_sources == []
    assert remote_clusters == local_clusters
    assert remote_tiers == local_tiers


def test_a_stopped_node_leaves_a_completed_run_naming_the_missing_source(small_town_home_copies: tuple[Path, Path]) -> None:
    _, home = small_town_home_copies
    ports = {"resident_registry": _free_port(), "schools": _free_port()}
    _remote_topology(home, ports)
    settings = load_settings(home)
    with _serving(settings, "resident_registry", ports["resident_registry"]):
        with _serving(settings, "schools", ports["schools"]):
            clusters, _, _ = _run(home)
        # the schools node is stopped now: the next screening completes without it and says so
        with hub_of(home) as hub, hub.sessions.begin() as session:
            report = run_screening(session, hub.nodes(), hub.manifests, hub.catalog, hub.rule_set(), AS_OF)
    assert clusters
    assert report.children > 1000
    assert "school_kiroku" in report.missing_sources
    assert "schools" in report.refused


def _copy(source: Path, target: Path) -> Path:
    copy_home(source, target)
    return target



@pytest.fixture
def small_town_home_copies(small_town: SmallTown, tmp_path: Path) -> tuple[Path, Path]:
    home = small_town.home
    return _copy(home, tmp_path / "local"), _copy(home, tmp_path / "remote")
