"""Fixtures of the service and web tests (registered in tests/conftest.py): one small home built per
session, and a copy of it for each test (a copy is much cheaper than a build)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from work.builders import Home, build_home, open_home


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_home(tmp_path_factory.mktemp("template"))
    built.close()
    return built.settings.home


@pytest.fixture
def home(template_home: Path, tmp_path: Path) -> Iterator[Home]:
    target = tmp_path / "home"
    shutil.copytree(template_home, target)
    opened = open_home(target)
    yield opened
    opened.close()
