"""A synthetic history of the child guidance centre, loaded and trained once per session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from support.hubs import copy_home, copy_hub, hub_settings
from tsunagu.config import Settings, load_settings
from tsunagu.hub import Hub
from tsunagu.synth.cgc_history import write_history
from tsunagu.work import users as accounts
from tsunagu.work.urgency.history import load_history
from tsunagu.work.urgency.models import PastCase, UrgencyModel
from tsunagu.work.urgency.versions import train_version
from work.builders import ADMIN, APPROVER, PASSWORD, Home, open_home

EXPORT_DATE = date(2026, 10, 31)


@pytest.fixture(scope="session")
def history_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_history(1, EXPORT_DATE, tmp_path_factory.mktemp("history")).path


@pytest.fixture(scope="session")
def trained_db(history_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A bare hub store with the history loaded and one model version trained."""
    settings = hub_settings(tmp_path_factory.mktemp("trained"), scope="session")
    with Hub.open(settings) as hub, hub.sessions.begin() as session:
        load_history(session, history_csv)
        result = train_version(session, "test", bootstrap=8)
    assert result.in_force, result.failures
    return settings


@pytest.fixture
def trained(trained_db: Settings, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with Hub(copy_hub(trained_db, tmp_path)) as hub:
        yield hub.sessions


@pytest.fixture(scope="session")
def urgency_template(template_home: Path, trained_db: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small work home (children P0001–P0004, accounts) with the trained past cases and version."""
    target = copy_home(template_home, tmp_path_factory.mktemp("urgency-home") / "home", scope="session")
    with (Hub(trained_db) as source, Hub(load_settings(target)) as dest,
          source.engine.connect() as src, dest.engine.begin() as dst):
        for table in (PastCase.__table__, UrgencyModel.__table__):
            rows = [dict(r._mapping) for r in src.execute(table.select())]
            dst.execute(table.insert(), rows)
    # a child guidance centre caseworker beside the small home's accounts
    opened = open_home(target)
    with opened.factory.begin() as session:
        accounts.create_user(session, ADMIN, "cgc1", role="child_guidance_caseworker", display_name="佐々木 児相",
                             organisation="child_guidance_centre", password=PASSWORD,
                             approver=APPROVER)  # a role that reads children: a second person approves (#18)
    opened.close()
    return target


@pytest.fixture
def uhome(urgency_template: Path, tmp_path: Path) -> Iterator[Home]:
    opened = open_home(copy_home(urgency_template, tmp_path / "home"))
    yield opened
    opened.close()
