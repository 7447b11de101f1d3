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
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.catalog.schools import SchoolNames
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


def grade_label(grade: int | None) -> str:
    """One way to write a grade everywhere (小学3年, 中学1年): the hub counts 1–9 through compulsory
    school, which read as 「7年」 on one page and 「1年」 on another for the same child."""
    if grade is None:
        return ""
    if 1 <= grade <= 6:
        return f"小学{grade}年"
    if 7 <= grade <= 9:
        return f"中学{grade - 6}年"
    return f"{grade}年"


def class_label(grade: int | None, school_class: str) -> str:
    """The grade and class as a school writes them beside its name (3年2組, 中学1年 → 1年3組); the
    kind of school is in the school's name shown before it."""
    if grade is None:
        return school_class
    return f"{grade - 6 if 7 <= grade <= 9 else grade}年{school_class}"


@pass_context
def _school(context: Context, code: str | None) -> str:
    """A school's name from the municipality's 学校マスタ (``catalog.schools``); the code when unknown."""
    if not code:
        return ""
    names: dict[str, str] = context.get("schools") or {}
    return names.get(str(code), str(code))
@pass_context
def _schooling(context: Context, code: str | None, grade: int | None, school_class: str = "") -> str:
    """A child's school, grade and class as one text wherever a child is listed or described, the
    class or not (``work.classes``: shown when the user may read it). The kind of school is said once:
    by the school's name from the 学校マスタ (○○小学校 5年2組, ○○小学校 3年), else before the grade
    beside the school's code (S001 小学5年2組, S001 小学3年) — a child's row and a sibling's, one with
    the class and one without, then read alike."""
    names: dict[str, str] = context.get("schools") or {}
    named = bool(code) and str(code) in names
    year = (class_label(grade, "") if named else grade_label(grade)) + school_class if grade else school_class
    return " ".join(part for part in (_school(context, code), year) if part)


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
    env.filters["school"] = _school
    env.filters["grade"] = grade_label
    env.filters["class_of"] = class_label
    env.filters["schooling"] = _schooling
    env.filters["plain_reason"] = plain_reason
    env.filters["grouped_reasons"] = grouped
    env.filters["source_label"] = lambda source: source_label(str(source)) or "記録"
    return Jinja2Templates(env=env)


@pass_context
def _organisation(context: Context, name: str) -> str:
    """A department's name as people say it (教育委員会 学務課), not its id; a school (or an SSW's
    schools, comma-separated) by its name from the 学校マスタ."""
    names: dict[str, str] = context.get("schools") or {}
    parts = [part.strip() for part in name.split(",") if part.strip()]
    return "・".join(names[part] if part in names else organisation_label(part) for part in parts)


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
    _schools: SchoolNames | None = field(default=None, init=False, repr=False)

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

    def school_names(self) -> dict[str, str]:
        """学校コード → 学校名 from the home's 学校マスタ (read again when the file changes)."""
        if self._schools is None:
            self._schools = SchoolNames(self.settings.home)
        return self._schools.get()

    def close(self) -> None:
        self.hub.close()

    def render_context(self, **values: Any) -> dict[str, Any]:
        return {"municipality": self.settings.municipality_name or "", "schools": self.school_names(), **values}
