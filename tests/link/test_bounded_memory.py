"""Linkage in bounded memory: DuckDB held to a memory limit, spilling to a folder of its own, the
link index written in slices — and the same persons and review pairs as the run before."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from support.hubs import copy_home, hub_of
from support.municipality import SmallTown
from tsunagu.link import index, probabilistic
from tsunagu.link.models import ClericalPair, PersonLink
from tsunagu.link.run import run_linkage


def _outcome(home: Path) -> tuple[set[frozenset[str]], set[tuple[str, str, float]]]:
    """Persons as sets of record keys (person ids are random), and the open review pairs."""
    with hub_of(home) as hub, hub.sessions() as session:
        persons: dict[str, set[str]] = {}
        for source, local_id, person in session.execute(
                select(PersonLink.source, PersonLink.local_id, PersonLink.person_id)):
            persons.setdefault(person, set()).add(f"{source}:{local_id}")
        review = {(p.left_key, p.right_key, round(p.match_probability, 6))
                  for p in session.scalars(select(ClericalPair).where(ClericalPair.status == "open"))}
    return {frozenset(keys) for keys in persons.values()}, review


def test_the_connection_holds_duckdb_to_its_limit_and_removes_its_spill_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probabilistic, "DUCKDB_MEMORY_MB", 200)
    with probabilistic._connection() as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()
        spill = con.execute("SELECT current_setting('temp_directory')").fetchone()
        assert limit is not None and spill is not None
        assert str(limit[0]).replace(" ", "") in ("200.0MiB", "190.7MiB", "200.0MB", "190.7MB")
        folder = Path(str(spill[0]))
        assert folder.is_dir()
        # A sort larger than the limit goes to disk instead of failing or growing past it.
        con.execute("SET threads = 1")
        row = con.execute("SELECT count(*), max(s) FROM (SELECT md5(i::VARCHAR) || repeat('x', 40) AS s "
                          "FROM range(3000000) t(i) ORDER BY s)").fetchone()
        assert row is not None and row[0] == 3_000_000
    assert not folder.exists()


def test_a_run_in_little_memory_links_as_the_run_before(small_town: SmallTown, linked_town: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    copy_home(small_town.home, home)
    monkeypatch.setattr(probabilistic, "DUCKDB_MEMORY_MB", 256)
    monkeypatch.setattr(index, "INSERT_BATCH_ROWS", 997)  # persons and link rows written in many slices
    with hub_of(home) as hub, hub.sessions.begin() as session:
        report = run_linkage(session, hub.nodes(), hub.manifests)
    assert report.probabilistic_links > 500
    assert report.records > 5 * 997 and report.persons > 2 * 997
    persons, review = _outcome(home)
    assert (persons, review) == _outcome(linked_town)
