"""An ingestor on the packaged manifests, its vaults and hub store in the test's folder (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tsunagu.catalog.manifest import packaged_manifests
from tsunagu.ingest.load import Ingestor


def _opened(tmp_path: Path, *, columnar: bool) -> Iterator[Ingestor]:
    ing = Ingestor(packaged_manifests(), tmp_path / "vaults", f"sqlite:///{tmp_path / 'hub.sqlite3'}", columnar=columnar)
    yield ing
    ing.close()


@pytest.fixture
def ingestor(tmp_path: Path) -> Iterator[Ingestor]:
    """The default load path (columnar)."""
    yield from _opened(tmp_path, columnar=True)


@pytest.fixture(params=[True, False], ids=["columnar", "rows"])
def any_ingestor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ingestor]:
    """Each load path in turn: the columnar one and the row-by-row one must load alike."""
    yield from _opened(tmp_path, columnar=request.param)
