"""Topology as configuration, the node commands, and a node served by `tsunagu node serve`."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from support.exports import JUKI_HEADER, juki_row, write_csv
from support.hubs import new_home, nodes_of
from tsunagu.catalog.manifest import manifests_for_home
from tsunagu.commands import node as node_cmd
from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.ingest.load import Ingestor
from tsunagu.municipality import Municipality
from tsunagu.privacy import AuditEntry
from tsunagu.store.db import session_factory
from tsunagu.vault.http import ExchangeRecord, HttpNode, signing
from tsunagu.vault.http.hub_audit import exchange_event
from tsunagu.vault.node import LocalNode, NodeRefusedError, NodeRequest
from tsunagu.vault.store import Vault, VaultLocation
from tsunagu.vault.topology import close_nodes, load_topology
from tsunagu.work.unit import unit_of_work
from tsunagu.yamlstrict import ConfigError

runner = CliRunner()
AS_OF = dt.date(2026, 10, 31)
SERVE = "import typer; from tsunagu.commands import node; app = typer.Typer(); node.register(app); app()"


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Group, so that `node` stays a sub-command as in the real CLI."""

    node_cmd.register(app)
    return app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    settings = new_home(home, Municipality("272205", "箕面市"))
    inbox = write_csv(tmp_path / "in" / "juki_jumin_20261031.csv", JUKI_HEADER,
                      [juki_row("1000000001"), juki_row("1000000002", name="佐藤　花子", sex="女")])
    ingestor = Ingestor(manifests_for_home(home), settings.vault_dir, settings.hub_url)
    try:
        assert not ingestor.ingest([inbox]).refused
    finally:
        ingestor.close()
    return settings


def _write_topology(settings: Settings, text: str) -> Path:
    path = settings.home / "topology.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_topology_every_department_with_a_vault_gets_an_in_process_node(settings: Settings) -> None:
    nodes = nodes_of(settings)
    try:
        assert list(nodes) == ["resident_registry"]
        assert isinstance(nodes["resident_registry"], LocalNode)
    finally:
        close_nodes(nodes)


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("pattern: integrated\nnodes: {}\nhub: {id: hub}\ncolour: blue\n", 4, "unknown key 'colour'"),
    ("pattern: separate\nnodes:\n  resident_registry: {transport: local}\n", 1, "must use transport http"),
    ("pattern: integrated\nnodes:\n  resident_registry: {transport: http}\n", 3, "needs url and public_key"),
    ("pattern: integrated\nnodes:\n  nowhere: {transport: local}\n", 3, "unknown department 'nowhere'"),
    ("pattern: integrated\nretries: {attempts: 0}\n", 2, "retries.attempts"),
    ("pattern: star\n", 1, "pattern"),
])
def test_topology_file_is_strict(settings: Settings, text: str, line: int, fragment: str) -> None:
    _write_topology(settings, text)
    with pytest.raises(ConfigError) as error:
        load_topology(settings.home)
    assert error.value.line == line, str(error.value)
    assert fragment in str(error.value)


def test_separate_pattern_opens_no_vault_on_the_hub(settings: Settings) -> None:
    assert runner.invoke(_cli(), ["node", "keygen", "--hub", "--home", str(settings.home)]).exit_code == 0
    node_key = signing.public_key_b64(signing.load_or_create_private_key(settings.home / "n.pem")[0].public_key())
    _write_topology(settings, f"pattern: separate\nnodes:\n  board_of_education:\n    transport: http\n"
                              f"    url: http://127.0.0.1:9\n    public_key: {node_key}\n")
    nodes = nodes_of(settings)
    try:
        assert list(nodes) == ["board_of_education"]
        assert isinstance(nodes["board_of_education"], HttpNode)
    finally:
        close_nodes(nodes)


def test_keygen_writes_an_owner_only_key_and_keeps_an_existing_one(settings: Settings) -> None:
    args = ["node", "keygen", "--department", "resident_registry", "--home", str(settings.home), "--json"]
    first = runner.invoke(_cli(), args)
    assert first.exit_code == 0, first.output
    path = settings.home / "keys" / "nodes" / "resident_registry_ed25519.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8
    again = runner.invoke(_cli(), args)
    assert '"created": false' in again.output
    assert again.output.split('"public_key": ')[1].split(",")[0] == first.output.split('"public_key": ')[1].split(",")[0]
    assert runner.invoke(_cli(), ["node", "keygen", "--home", str(settings.home)]).exit_code != 0
    bad = runner.invoke(_cli(), ["node", "keygen", "--department", "nowhere", "--home", str(settings.home)])
    assert bad.exit_code != 0


def test_a_public_key_may_be_written_four_ways(tmp_path: Path) -> None:
    key, _created = signing.load_or_create_private_key(tmp_path / "keys" / "k_ed25519.pem")
    public = key.public_key()
    pem_path = signing.public_key_path(tmp_path / "keys" / "k_ed25519.pem")
    raw = signing.public_key_b64(public)
    forms = [raw, base64.b64decode(raw).hex(), signing.public_key_pem(public).decode(), "keys/k_ed25519.pub.pem",
             str(pem_path)]
    for form in forms:
        assert signing.public_key_b64(signing.parse_public_key(form, tmp_path)) == raw
    with pytest.raises(signing.KeyFileError):
        signing.parse_public_key("not-a-key", tmp_path)
    with pytest.raises(signing.KeyFileError):
        signing.load_private_key(tmp_path / "missing.pem")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "node.crt", folder / "node.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "node exited")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("node serve did not open its port")


def test_node_serve_over_tls_answers_like_the_in_process_node(settings: Settings, tmp_path: Path) -> None:
    home = str(settings.home)
    assert runner.invoke(_cli(), ["node", "keygen", "--hub", "--home", home]).exit_code == 0
    assert runner.invoke(_cli(), ["node", "keygen", "--department", "resident_registry", "--home", home]).exit_code == 0
    cert, key = _self_signed(tmp_path)
    port = _free_port()
    _write_topology(settings, (
        "pattern: integrated\nhub: {id: hub-minoh}\nnodes:\n  resident_registry:\n    transport: http\n"
        f"    url: https://127.0.0.1:{port}\n    public_key: keys/nodes/resident_registry_ed25519.pub.pem\n"
        f"    ca_cert: {cert}\ntimeouts: {{connect_s: 2, read_s: 10}}\nretries: {{attempts: 2, backoff_s: 0.1}}\n"
    ))
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "node", "serve", "--department", "resident_registry", "--port", str(port),
         "--home", home, "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    seen: list[ExchangeRecord] = []
    try:
        _wait_for_port(port, process)
        hub = Hub(settings, on_exchange=seen.append)  # the Hub installs the hub's log and calls the hook too
        try:
            remote = hub.nodes()["resident_registry"]
            assert isinstance(remote, HttpNode)
            request = NodeRequest("staff:sato", "centre_caseworker", "screening", ("relationship_to_head",))
            local = LocalNode("resident_registry", Vault(VaultLocation.for_home("resident_registry", settings.vault_dir, settings.hub_url)), manifests_for_home(settings.home))
            try:
                expected = local.items(request, AS_OF)
            finally:
                local.vault.dispose()
            answer = remote.items(request, AS_OF)
        finally:
            hub.close()
        # Whoever opens the nodes without a hook, every exchange reaches the hub's audit: inside a unit
        # of work in its transaction, elsewhere when the nodes are closed. A refusal is recorded too.
        plain = nodes_of(settings)
        try:
            with pytest.raises(NodeRefusedError):
                plain["resident_registry"].items(NodeRequest("staff:sato", "teacher", "statistics",
                                                             ("relationship_to_head",)), AS_OF)
            with Hub(settings) as store:
                with unit_of_work(store.sessions):
                    plain["resident_registry"].items(request, AS_OF)
                in_unit = _exchanges(store.engine)
        finally:
            close_nodes(plain)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
    assert_frame_equal(expected.data, answer.data, check_dtypes=True)
    assert answer.digest == expected.digest and answer.data.height == 2
    assert [(r.outcome, r.department) for r in seen] == [("released", "resident_registry")]
    assert [(e.outcome, e.rule) for e in in_unit] == [("allowed", "node.released")] * 2  # the refusal not yet
    with Hub(settings) as store:
        entries = _exchanges(store.engine)
    assert [(e.outcome, e.rule, e.actor) for e in entries] == [
        ("allowed", "node.released", "staff:sato"),  # the Hub's nodes' exchange, written when the Hub closed
        ("allowed", "node.released", "staff:sato"),  # in the unit of work
        ("denied", "node.refused", "staff:sato"),    # outside any unit: written when the nodes closed
    ]
    assert all(e.organisation == "node:resident_registry" for e in entries)


def _exchanges(engine: Engine) -> list[AuditEntry]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "node.exchange")
                                    .order_by(AuditEntry.seq)))


def test_an_exchange_that_failed_is_an_error_in_the_hub_audit() -> None:
    record = ExchangeRecord(request_id="r1", department="child_guidance", kind="record", requester="staff:x",
                            role="centre_caseworker", purpose="assessment", items=("cgc_case",),
                            outcome="unavailable", reason="応答のダイジェストが一致しません / answer digest mismatch",
                            digest="", rows=0, status=200, attempts=1, nonce="n1")
    event = exchange_event(record)
    assert (event.outcome, event.rule, event.action) == ("error", "node.unavailable", "node.exchange")
    assert "digest mismatch" in event.reason and event.items == ("cgc_case",)

