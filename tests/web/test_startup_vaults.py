"""The app's start-up opens the departments' vaults, so an upgrade's added indexes are built then
(``vault.store``) and not by the first user's request that needs a node."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

from tsunagu.web.app import create_app
from work.builders import Home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 in its test client; httpx is what we have
    from fastapi.testclient import TestClient

ADDED = {"ix_records_load", "ix_observations_load"}


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("select name from sqlite_master where type = 'index'")}


def test_an_old_vault_has_the_added_indexes_once_the_app_has_started(home: Home) -> None:
    vaults = sorted(home.settings.vault_dir.glob("*.sqlite3"))
    assert vaults
    for path in vaults:  # as vaults made before the indexes
        with sqlite3.connect(path) as db:
            for name in ADDED:
                db.execute(f"drop index if exists {name}")
        assert not ADDED & _indexes(path)
    app = create_app(home.settings)
    assert all(not ADDED & _indexes(path) for path in vaults)  # building the app opens no vault
    with TestClient(app):  # start-up (the lifespan), no request made
        assert all(_indexes(path) >= ADDED for path in vaults)
