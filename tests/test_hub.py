"""The municipality object: one engine, both session kinds, nodes opened once, the vocabulary and keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from support.hubs import ON_POSTGRES, copy_home, hub_of
from support.municipality import SmallTown
from tsunagu.config import load_settings
from tsunagu.hub import Hub, hub_with_nodes
from tsunagu.link.models import Person
from tsunagu.privacy.models import AuditEntry
from tsunagu.store.db import ReadOnlySessionError
from tsunagu.store.dialects import dialect_for_url, dialect_of
from tsunagu.vault.node import LocalNode
from work.builders import Home


def test_a_hub_on_each_back_end_reads_and_writes_through_its_own_factories(any_hub: Hub) -> None:
    with any_hub.sessions.begin() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
        assert dialect_of(session) is any_hub.dialect
    with pytest.raises(ReadOnlySessionError), any_hub.read_sessions() as reading:
        reading.execute(AuditEntry.__table__.delete())
    with any_hub.reading() as session:
        assert list(session.scalars(select(AuditEntry))) == []


def test_nodes_are_opened_once_from_the_topology_and_closed_with_the_hub(small_town: SmallTown) -> None:
    hub = Hub(load_settings(small_town.home))
    first = hub.nodes()
    assert first is hub.nodes()  # kept, not opened again
    assert {m.department for m in hub.manifests.manifests.values()} >= set(first)
    local = [n for n in first.values() if isinstance(n, LocalNode)]
    assert local
    hub.close()
    assert hub._nodes is None
    reopened = hub.nodes()  # a closed hub opens them again on demand
    assert set(reopened) == set(first)
    hub.close()


def test_the_rules_vocabulary_and_keys_come_from_the_home(small_town: SmallTown) -> None:
    with Hub(load_settings(small_town.home)) as hub:
        assert hub.rule_set().hash == hub.rule_set().hash
        assert "abuse_consultation" in hub.catalog.items
        assert hub.policy.role("centre_caseworker") is not None
        assert hub.signing_key is hub.signing_key  # loaded once
        assert hub.note_cipher.decrypt(hub.note_cipher.encrypt("メモ")) == "メモ"


def test_the_old_pair_of_sessions_and_nodes_is_a_hub_underneath(small_town: SmallTown) -> None:
    with hub_with_nodes(load_settings(small_town.home)) as (sessions, nodes):
        with sessions() as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
        assert nodes


def test_the_shared_homes_are_on_the_suite_s_back_end_each_with_its_own_store(home: Home, tmp_path: Path) -> None:
    # TSUNAGU_TEST_DATABASE_URL moves every shared home to PostgreSQL; a copy never shares its original's store.
    expected = "postgresql" if ON_POSTGRES else "sqlite"
    assert dialect_for_url(home.settings.hub_url).name == expected
    copy = copy_home(home.settings.home, tmp_path / "copy")
    assert load_settings(copy).hub_url != home.settings.hub_url
    with hub_of(copy) as hub, hub.sessions() as session:
        assert dialect_of(session).name == expected
        assert session.scalar(select(func.count()).select_from(Person)) == 4  # the copy holds the home's data
