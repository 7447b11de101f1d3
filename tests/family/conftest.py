"""Fixtures of the family portal tests: the family home built once, copied per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from family.builders import build_family_home
from support.hubs import copy_home
from tsunagu.config import load_settings
from tsunagu.hub import Hub
from work.builders import Home, open_home


@pytest.fixture(scope="session")
def family_template(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_family_home(template_home, tmp_path_factory.mktemp("family") / "home")


@pytest.fixture
def family_home(family_template: Path, tmp_path: Path) -> Iterator[Home]:
    opened = open_home(copy_home(family_template, tmp_path / "home"))
    yield opened
    opened.close()


@pytest.fixture
def family_hub(family_home: Home) -> Iterator[Hub]:
    with Hub.open(load_settings(family_home.settings.home)) as hub:
        yield hub
