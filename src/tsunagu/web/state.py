"""What the app holds for its lifetime: settings, the hub store, keys, the nodes, the templates."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.config import Settings
from tsunagu.handover.keys import Identity, load_identity
from tsunagu.hub import Hub
from tsunagu.privacy import NoteCipher
from tsunagu.privacy.policy import JST
from tsunagu.privacy.records import item_label, organisation_label, source_label
from tsunagu.vault.node import Node
from tsunagu.web.security import CookieSigner, Network
from tsunagu.work.wording import grouped

TIER_CLASSES = {"重点支援": "tier-priority", "予防的支援": "tier-preventive", "見守り": "tier-watch", "対象外": "tier-none"}


def _jst(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(JST).strftime(fmt)


def _day(value: date | str | None) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _item_labels(items: Sequence[str]) -> str:
    return "、".join(item_label(i) for i in items)


# A rule id in a decision's reason (recorded as it was decided, in the hash chain): left out where a
# person reads the reason — 「拒否（deny.relationship）: …」 reads 「拒否: …」.
_RULE_IN_REASON = re.compile(r"（(?:ルール )?[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+(?:: ([^）]*))?）")


def plain_reason(text: str | None) -> str:
    return _RULE_IN_REASON.sub(lambda m: f"（{m.group(1)}）" if m.group(1) else "", text or "")


def make_templates() -> Jinja2Templates:
    env = Environment(loader=PackageLoader("tsunagu.web", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["jst"] = _jst
    env.filters["day"] = _day
    env.filters["tier_class"] = lambda tier: TIER_CLASSES.get(str(tier), "tier-none")
    env.filters["item_labels"] = _item_labels
    env.filters["percent"] = lambda p: "" if p is None else f"{float(p) * 100:.1f}%"
    env.filters["organisation"] = _organisation
    env.filters["plain_reason"] = plain_reason
    env.filters["grouped_reasons"] = grouped
    env.filters["source_label"] = lambda source: source_label(str(source)) or "記録"
    return Jinja2Templates(env=env)


def _organisation(name: str) -> str:
    """A department's name as people say it (教育委員会 学務課), not its id; school codes stay as they are."""
    return organisation_label(name)


@dataclass
class AppState:
    """The app's municipality (``hub``: store, nodes, manifests, keys) and what only the web needs."""

    hub: Hub
    signer: CookieSigner
    templates: Jinja2Templates
    secure_cookies: bool = False
    proxies: tuple[Network, ...] = ()
    _handover_identity: Identity | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def settings(self) -> Settings:
        return self.hub.settings

    @property
    def engine(self) -> Engine:
        return self.hub.engine

    @property
    def factory(self) -> sessionmaker[Session]:
        return self.hub.sessions

    @property
    def read_factory(self) -> sessionmaker[Session]:
        return self.hub.read_sessions

    @property
    def cipher(self) -> NoteCipher:
        return self.hub.note_cipher

    @property
    def key(self) -> Ed25519PrivateKey:
        return self.hub.signing_key

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One transaction per request's work (a policy refusal commits too: see ``unit_of_work``)."""
        with self.hub.unit() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """For a request that only reads and records its reads: it runs beside others instead of
        waiting for the hub's write lock, which it takes only to append its entries (``reading_unit``)."""
        with self.hub.reading() as session:
            yield session

    def nodes(self) -> dict[str, Node]:
        """The departments' nodes, opened on first use and kept for the app's lifetime."""
        return self.hub.nodes()

    def manifests(self) -> ManifestSet:
        return self.hub.manifests

    def handover_identity(self) -> Identity:
        """This municipality's hand-over keys, created on first use (``tsunagu.handover.keys``)."""
        with self._lock:
            if self._handover_identity is None:
                self._handover_identity = load_identity(self.hub.settings)
            return self._handover_identity

    def close(self) -> None:
        self.hub.close()

    def render_context(self, **values: Any) -> dict[str, Any]:
        return {"municipality": self.settings.municipality_name or "", **values}
