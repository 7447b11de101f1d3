"""Bulk writes: a large insert rebuilds the table's secondary index on SQLite instead of updating it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Column, Engine, Index, Integer, MetaData, String, Table, inspect

from tsunagu.store.bulk import bulk_insert, column_rows, indexes_rebuilt
from tsunagu.store.db import create_hub_engine

METADATA = MetaData()
THINGS = Table("things", METADATA, Column("id", Integer, primary_key=True), Column("name", String(20), nullable=False),
               Column("kind", String(20)), Index("ix_things_kind", "kind"))


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    engine = create_hub_engine(f"sqlite:///{tmp_path / 'bulk.sqlite3'}")
    METADATA.create_all(engine)
    return engine


def _indexes(engine: Engine) -> list[str]:
    return [index["name"] or "" for index in inspect(engine).get_indexes("things")]


def _insert(engine: Engine, rows: list[tuple[str, str | None]]) -> bool:
    """Insert ``rows``; whether the index was gone meanwhile."""
    with engine.begin() as conn, indexes_rebuilt(conn, THINGS, len(rows)):
        bulk_insert(conn, THINGS, ("name", "kind"), rows)
        return conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'ix_things_kind'").scalar() == 0


def test_an_insert_of_most_of_a_table_rebuilds_its_index_and_a_small_one_keeps_it(engine: Engine) -> None:
    assert _insert(engine, [(f"n{i}", f"k{i % 3}") for i in range(10)])  # into an empty table
    assert _indexes(engine) == ["ix_things_kind"]
    assert not _insert(engine, [("late", "k1")])
    assert _indexes(engine) == ["ix_things_kind"]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM things WHERE kind = 'k1'").scalar() == 4
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()


def test_an_insert_that_fails_leaves_the_index_in_place(engine: Engine) -> None:
    with pytest.raises(Exception, match="NOT NULL"):
        _insert(engine, [("a", "k"), (None, "k")])  # type: ignore[list-item]
    assert _indexes(engine) == ["ix_things_kind"]
    engine.dispose()


def test_column_rows_are_the_frame_rows_with_the_constant_values_after_them() -> None:
    frame = pl.DataFrame({"a": [1, None], "b": ["x", "y"], "p": [0.5, None]})
    assert column_rows(frame, ("b", "a", "p"), ("run", None)) == [("x", 1, 0.5, "run", None), ("y", None, None, "run", None)]
    assert column_rows(frame.clear(), ("a",), ("run",)) == []
