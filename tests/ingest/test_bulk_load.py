"""Bulk loading: index rebuilds inside the load's transaction, and the same vault on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from support.exports import JUKI_HEADER, juki_row, write_csv
from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.ingest.load import Ingestor
from tsunagu.vault import store


def _indexes(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select name, sql from sqlite_master where type = 'index' order by name").fetchall()


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])


def test_a_large_load_rebuilds_the_indexes_as_they_were(
    tmp_path: Path, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = tmp_path / "vaults" / "resident_registry.sqlite3"
    ingestor.vault("resident_registry")
    fresh = _indexes(vault)
    assert len(fresh) >= 5
    dropped: list[str] = []
    original = store.LoadWriter.expect_rows

    def spy(self: store.LoadWriter, rows: int) -> None:
        original(self, rows)
        dropped.extend(self._dropped_indexes)

    monkeypatch.setattr(store.LoadWriter, "rebuild_indexes_from", 10)
    monkeypatch.setattr(store.LoadWriter, "expect_rows", spy)
    path = write_csv(tmp_path / "juki_jumin_20261031.csv", JUKI_HEADER, [juki_row(f"10000001{i:02d}") for i in range(20)])
    assert ingestor.ingest_file(path).loaded == 20
    assert sorted(dropped) == sorted(sql for name, sql in fresh if name.startswith(("ix_records", "ix_observations")))
    assert _indexes(vault) == fresh  # the load dropped them, and rebuilt each one as it was
    # A load smaller than what the vault holds keeps the indexes up to date instead.
    dropped.clear()
    rows = [juki_row(f"10000002{i:02d}") for i in range(12)]
    ingestor.ingest_file(write_csv(tmp_path / "juki_jumin_20261101.csv", JUKI_HEADER, rows))
    assert dropped == []
    assert _indexes(vault) == fresh


@pytest.mark.parametrize("failing", ["finish", "observations"])
def test_a_failed_large_load_leaves_the_vault_and_its_indexes_as_they_were(
    tmp_path: Path, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    vault = tmp_path / "vaults" / "resident_registry.sqlite3"
    good = write_csv(tmp_path / "juki_jumin_20260930.csv", JUKI_HEADER, [juki_row("1000000001")])
    ingestor.ingest_file(good)
    before = _indexes(vault)
    monkeypatch.setattr(store.LoadWriter, "rebuild_indexes_from", 10)
    if failing == "finish":
        def boom(self: store.LoadWriter, rows_in: int) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(store.LoadWriter, "finish", boom)
    else:
        insert = store._bulk_insert

        def fail_on_observations(conn: Any, table: Any, *args: Any, **kwargs: Any) -> None:
            if table.name == "observations":
                raise RuntimeError("disk full")
            insert(conn, table, *args, **kwargs)

        monkeypatch.setattr(store, "_bulk_insert", fail_on_observations)
    newer = write_csv(
        tmp_path / "juki_jumin_20261031.csv", JUKI_HEADER, [juki_row(f"10000001{i:02d}") for i in range(20)]
    )
    with pytest.raises(RuntimeError):
        ingestor.ingest_file(newer)
    assert _indexes(vault) == before
    assert (_count(vault, "loads"), _count(vault, "records")) == (1, 1)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A database of its own, so both paths can fill the same vault schemas in turn."""
    from support.postgres import fresh_database

    with fresh_database("tsunagu_bulk") as url:
        yield url


def _pg_vaults(url: str) -> dict[str, list[Any]]:
    engine = create_engine(url)
    found: dict[str, list[Any]] = {}
    with engine.connect() as conn:
        schemas = conn.execute(text("select nspname from pg_namespace where nspname like 'vault_%' order by 1")).scalars()
        for schema in list(schemas):
            for table, order in (("loads", "load_id"), ("records", "record_id"), ("observations", "obs_id"),
                                 ("quarantine", "quarantine_id")):
                rows = conn.execute(text(f'select * from "{schema}".{table} order by {order}')).mappings()
                found[f"{schema}.{table}"] = [{k: v for k, v in r.items() if k != "loaded_at"} for r in rows]
            conn.execute(text(f'drop schema "{schema}" cascade'))
        conn.commit()
    engine.dispose()
    return found


@pytest.mark.postgres
def test_both_paths_fill_postgres_vaults_alike(tmp_path: Path, pg_database: str) -> None:
    from tsunagu.synth import generate

    generate(150, 3, "default", tmp_path / "synth")
    dumps = []
    for columnar in (True, False):
        ingestor = Ingestor(packaged_manifests(), tmp_path / "v", pg_database, columnar=columnar)
        report = ingestor.ingest([tmp_path / "synth" / "exports"])
        ingestor.close()
        assert report.refused == []
        dumps.append(_pg_vaults(pg_database))
    assert sum(len(rows) for table, rows in dumps[0].items() if table.endswith(".records")) > 1000
    assert dumps[0] == dumps[1]
