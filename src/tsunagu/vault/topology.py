"""Where each department's node is: the topology, as configuration (``<home>/topology.yaml``).

Pattern ① (integrated): one department administers every vault on one machine; the hub opens
the vaults in process, unless the topology puts a node behind HTTP. Pattern ② (separate): each
department runs its own node service on its own host; the hub reaches every node over HTTP and
opens no vault itself. Without a topology file the embedded default applies: pattern ① with an
in-process node for every department that has a vault. See docs/topology.md.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine, inspect

from tsunagu.catalog import default_catalog
from tsunagu.catalog.manifest import ManifestSet, manifests_for_home
from tsunagu.config import Settings
from tsunagu.errors import ConfigurationError
from tsunagu.store.db import HubStore
from tsunagu.vault.http import signing
from tsunagu.vault.http.client import ExchangeRecord, HttpNode, Timeouts
from tsunagu.vault.http.hub_audit import HubExchangeLog
from tsunagu.vault.node import LocalNode, Node
from tsunagu.vault.store import Vault, VaultLocation
from tsunagu.yamlstrict import ConfigError, line_of, read_yaml
from tsunagu.yamlstrict import load_model as load_yaml_model

if TYPE_CHECKING:
    from fastapi import FastAPI

TOPOLOGY_FILE = "topology.yaml"
HubId = Annotated[str, Field(pattern=signing.ID_RE.pattern)]


class NodeSetupError(ConfigurationError, ValueError):
    """A node cannot be opened or served as configured; the message says what is missing."""

    code = "node_setup"


class NodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Literal["local", "http"] = "local"
    url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] | None = None
    public_key: str | None = Field(default=None, description="the node's key: base64 (32 bytes) or a PEM file path")
    ca_cert: Path | None = Field(default=None, description="CA bundle for an https node with a private CA")

    @model_validator(mode="after")
    def _transport_fields(self) -> NodeEntry:
        if self.transport == "http" and (self.url is None or self.public_key is None):
            raise ValueError("transport http needs url and public_key")
        if self.transport == "local" and (self.url or self.public_key or self.ca_cert):
            raise ValueError("url, public_key and ca_cert belong to transport http only")
        return self


class HubEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: HubId = signing.DEFAULT_HUB_ID
    public_key: str | None = Field(default=None, description="for node hosts: the hub's key, base64 or PEM path")


class TimeoutsEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_s: float = Field(default=3.0, gt=0, le=120)
    read_s: float = Field(default=30.0, gt=0, le=3600)


class RetriesEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attempts: int = Field(default=3, ge=1, le=10, description="attempts in all, the first one included")
    backoff_s: float = Field(default=0.5, ge=0, le=60)


class Topology(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: Literal["integrated", "separate"]
    nodes: dict[str, NodeEntry] = Field(default_factory=dict)
    hub: HubEntry = Field(default_factory=HubEntry)
    timeouts: TimeoutsEntry = Field(default_factory=TimeoutsEntry)
    retries: RetriesEntry = Field(default_factory=RetriesEntry)

    @model_validator(mode="after")
    def _separate_means_http(self) -> Topology:
        # In pattern ② the hub host holds no department's data, so it may not open a vault itself.
        local = [d for d, n in self.nodes.items() if n.transport == "local"]
        if self.pattern == "separate" and local:
            raise ValueError(f"pattern separate: node {local[0]!r} must use transport http (departments are not merged)")
        return self


def topology_path(home: Path) -> Path:
    return home / TOPOLOGY_FILE


def load_topology(home: Path) -> Topology | None:
    """The home's topology, or None for the embedded default; errors name the file and line."""
    path = topology_path(home)
    if not path.is_file():
        return None
    topology = load_yaml_model(path, Topology)
    known = default_catalog().departments
    unknown = [d for d in topology.nodes if d not in known]
    if unknown:
        _data, node = read_yaml(path)
        raise ConfigError(path, line_of(node, ("nodes", unknown[0])),
                          f"nodes: unknown department {unknown[0]!r}; valid: {', '.join(sorted(known))}")
    return topology


# -- the hub side ----------------------------------------------------------------------------------
def _departments_with_vaults(settings: Settings, departments: list[str], hub: Engine) -> list[str]:
    if not settings.uses_postgres:
        return [d for d in departments if (settings.vault_dir / f"{d}.sqlite3").exists()]
    schemas = set(inspect(hub).get_schema_names())
    return [d for d in departments if VaultLocation.for_home(d, settings.vault_dir, settings.hub_url).schema_name in schemas]


def _local(settings: Settings, department: str, manifests: ManifestSet) -> LocalNode:
    location = VaultLocation.for_home(department, settings.vault_dir, settings.hub_url)
    return LocalNode(department, Vault(location), manifests)


def _http(settings: Settings, topology: Topology, department: str, entry: NodeEntry,
          on_exchange: Callable[[ExchangeRecord], None] | None) -> HttpNode:
    assert entry.url is not None and entry.public_key is not None  # NodeEntry checks it
    hub_key = signing.load_private_key(signing.hub_key_path(settings.home))
    verify: ssl.SSLContext | bool = True
    if entry.ca_cert is not None:
        cafile = entry.ca_cert if entry.ca_cert.is_absolute() else settings.home / entry.ca_cert
        verify = ssl.create_default_context(cafile=str(cafile))
    return HttpNode(
        department, entry.url, hub_key, signing.parse_public_key(entry.public_key, settings.home),
        hub_id=topology.hub.id, timeout=Timeouts(topology.timeouts.connect_s, topology.timeouts.read_s),
        retries=topology.retries.attempts - 1, backoff=topology.retries.backoff_s, on_exchange=on_exchange,
        verify=verify,
    )


def open_nodes(settings: Settings, *, hub: HubStore, manifests: ManifestSet | None = None,
               on_exchange: Callable[[ExchangeRecord], None] | None = None) -> dict[str, Node]:
    """One node per department, in process or over HTTP as the topology says.

    Called by ``tsunagu.hub.Hub.nodes()`` (use that): ``hub`` is the opened hub store (on
    PostgreSQL its schemas say which vaults exist; the exchange log writes through its sessions), ``manifests`` the
    municipality's (read from the home when not given). Every HTTP node records each exchange in the
    hub's audit chain (``HubExchangeLog``), whoever opens the nodes: the Hub passes its own log (its
    sessions and key) as ``on_exchange``; any other hook is wrapped in one and called as well. Close
    the result with ``close_nodes``: it writes the exchanges made outside a unit of work.
    """
    hook = on_exchange if isinstance(on_exchange, HubExchangeLog) \
        else HubExchangeLog(settings, also=on_exchange, sessions=hub.sessions)
    manifests = manifests if manifests is not None else manifests_for_home(settings.home)
    departments = sorted({m.department for m in manifests.manifests.values()})
    topology = load_topology(settings.home)
    remote = {d for d, e in topology.nodes.items() if e.transport == "http"} if topology is not None else set()
    nodes: dict[str, Node] = {}
    if topology is None or topology.pattern == "integrated":
        for department in _departments_with_vaults(settings, departments, hub.engine):
            if department not in remote:
                nodes[department] = _local(settings, department, manifests)
    if topology is not None:
        for department, entry in sorted(topology.nodes.items()):
            if entry.transport == "http":
                nodes[department] = _http(settings, topology, department, entry, hook)
            elif department not in nodes:
                nodes[department] = _local(settings, department, manifests)
    return nodes


def close_nodes(nodes: Mapping[str, Node]) -> None:
    hooks = {id(n.on_exchange): n.on_exchange for n in nodes.values()
             if isinstance(n, HttpNode) and isinstance(n.on_exchange, HubExchangeLog)}
    for node in nodes.values():
        if isinstance(node, HttpNode):
            node.close()
        elif isinstance(node, LocalNode):
            node.vault.dispose()
    for hook in hooks.values():
        hook.flush()


# -- the node side ---------------------------------------------------------------------------------
def hub_public_keys(settings: Settings, topology: Topology | None = None) -> dict[str, Ed25519PublicKey]:
    """The hub key a node accepts: from the topology, else the hub's key files in the same home (①)."""
    topology = topology if topology is not None else load_topology(settings.home)
    hub = topology.hub if topology is not None else HubEntry()
    if hub.public_key:
        return {hub.id: signing.parse_public_key(hub.public_key, settings.home)}
    private = signing.hub_key_path(settings.home)
    public = signing.public_key_path(private)
    if public.is_file():
        return {hub.id: signing.parse_public_key(str(public), settings.home)}
    if private.is_file():
        return {hub.id: signing.load_private_key(private).public_key()}
    raise NodeSetupError(
        f"ハブの公開鍵がありません: {topology_path(settings.home)} の hub.public_key に書くか、"
        f"{public} を置いてください / no hub public key configured"
    )


def node_app_for_home(settings: Settings, department: str, *, window_s: float | None = None) -> FastAPI:
    """The HTTP service for ``department``'s vault in this home, with its key and the hub's."""
    from tsunagu.vault.http.server import DEFAULT_WINDOW_S, create_app

    if department not in default_catalog().departments:
        raise NodeSetupError(f"部署 {department!r} は目録にありません / unknown department")
    location = VaultLocation.for_home(department, settings.vault_dir, settings.hub_url)
    if location.schema_name is None and not (settings.vault_dir / f"{department}.sqlite3").exists():
        raise NodeSetupError(
            f"{department} の保管庫がありません（先に `tsunagu ingest` で取り込んでください） / no vault for {department}"
        )
    node_key = signing.load_private_key(signing.node_key_path(settings.home, department))
    hub_keys = hub_public_keys(settings)
    node = LocalNode(department, Vault(location), manifests_for_home(settings.home))
    return create_app(node, node_key=node_key, hub_keys=hub_keys,
                      window_s=DEFAULT_WINDOW_S if window_s is None else window_s)
