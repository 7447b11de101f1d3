"""A new snapshot closes the one before it by load: that update reads an index, not the whole table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tsunagu.vault.store import Vault, VaultLocation


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("select name from sqlite_master where type = 'index'")}


def _plan(path: Path, table: str) -> str:
    query = (f"explain query plan update {table} set valid_to = '2026-11-01' where load_id in"
             " (select load_id from loads where source = 'x') and valid_to is null")
    with sqlite3.connect(path) as db:
        return " | ".join(str(row[-1]) for row in db.execute(query).fetchall())


def test_a_vault_made_before_the_load_indexes_gains_them_and_the_close_uses_them(tmp_path: Path) -> None:
    path = tmp_path / "schools.sqlite3"
    location = VaultLocation("schools", f"sqlite:///{path}", None)
    Vault(location).dispose()
    assert {"ix_records_load", "ix_observations_load"} <= _indexes(path)
    # As a vault made before them: the indexes dropped. The close of an older snapshot then scans.
    with sqlite3.connect(path) as db:
        db.execute("drop index ix_records_load")
        db.execute("drop index ix_observations_load")
    assert "SCAN observations" in _plan(path, "observations")
    Vault(location).dispose()  # opened again, as an upgraded tsunagu would
    assert {"ix_records_load", "ix_observations_load"} <= _indexes(path)
    for table in ("records", "observations"):
        plan = _plan(path, table)
        assert f"ix_{table}_load" in plan and f"SCAN {table}" not in plan, plan
    Vault(location).dispose()  # and a third open finds them there (IF NOT EXISTS)
