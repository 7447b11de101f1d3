"""A screened copy of the linked synthetic town, built once; each test works on its own copy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from support.hubs import copy_home, hub_of
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.link.models import PersonLink
from tsunagu.privacy import NoteCipher, Subject, load_or_create_signing_key
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.screen.runs.run import ScreeningReport, run_screening
from tsunagu.vault.node import Node
from tsunagu.work.access import suspended_persons

AS_OF = date(2026, 10, 31)
OFFICER = Subject("po1", "privacy_officer", "privacy")
CASEWORKER = Subject("cw1", "centre_caseworker", "family_centre")
ADMIN = Subject("setup", "administrator", "cli")


@dataclass
class Town:
    settings: Settings
    factory: sessionmaker[Session]
    cipher: NoteCipher
    nodes: dict[str, Node]
    manifests: ManifestSet
    child: str

    @property
    def home(self) -> Path:
        return self.settings.home

    def screen(self) -> ScreeningReport:
        return screen(self.settings, self.nodes, self.factory)

    def key(self):  # type: ignore[no-untyped-def]
        return load_or_create_signing_key(self.home)


def screen(settings: Settings, nodes: dict[str, Node], factory: sessionmaker[Session]) -> ScreeningReport:
    with Hub(settings) as hub, factory.begin() as session:  # the rules and vocabulary of the town's home
        return run_screening(session, nodes, hub.manifests, hub.catalog, hub.rule_set(), AS_OF,
                             excluded=suspended_persons(session))


def pick_child(session: Session) -> str:
    """A listed child with records in the most departments (a school's among them)."""
    listed = select(ScreeningResult.person_id).where(ScreeningResult.tier != "対象外")
    schooled = select(PersonLink.person_id).where(PersonLink.department == "schools")
    row = session.execute(
        select(PersonLink.person_id, func.count(func.distinct(PersonLink.department)).label("n"))
        .where(PersonLink.person_id.in_(listed), PersonLink.person_id.in_(schooled))
        .group_by(PersonLink.person_id).order_by(func.count(func.distinct(PersonLink.department)).desc(),
                                                 PersonLink.person_id).limit(1)
    ).first()
    assert row is not None
    return str(row[0])


@pytest.fixture(scope="session")
def rights_town(linked_town: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("rights-town") / "home"
    copy_home(linked_town, home, scope="session")
    with hub_of(home, migrate_store=True) as hub:
        screen(hub.settings, hub.nodes(), hub.sessions)
        with hub.sessions() as session:
            child = pick_child(session)
    return home, child


@pytest.fixture
def town(rights_town: tuple[Path, str], tmp_path: Path) -> Iterator[Town]:
    source, child = rights_town
    home = tmp_path / "home"
    copy_home(source, home)
    with hub_of(home) as hub:
        yield Town(hub.settings, hub.sessions, hub.note_cipher, hub.nodes(), hub.manifests, child)
