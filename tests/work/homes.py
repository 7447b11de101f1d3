"""Fixtures of the service and web tests (registered in tests/conftest.py): one small home built per
session, and a copy of it for each test (a copy is much cheaper than a build)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hubs import copy_home
from work.builders import Home, build_home, open_home


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_home(tmp_path_factory.mktemp("template"))
    built.close()
    return built.settings.home


@pytest.fixture
def home(template_home: Path, tmp_path: Path) -> Iterator[Home]:
    yield from _opened_copy(template_home, tmp_path)


@pytest.fixture(scope="session")
def searchable_template(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small home made searchable (work/searching.py), once per session."""
    from work.searching import make_searchable

    opened = open_home(copy_home(template_home, tmp_path_factory.mktemp("searchable") / "home", scope="session"))
    try:
        make_searchable(opened)
    finally:
        opened.close()
    return opened.settings.home


@pytest.fixture
def searchable_home(searchable_template: Path, tmp_path: Path) -> Iterator[Home]:
    """A copy of the searchable home for one test (its search key is the home's, copied with it)."""
    yield from _opened_copy(searchable_template, tmp_path)


def _opened_copy(template: Path, tmp_path: Path) -> Iterator[Home]:
    opened = open_home(copy_home(template, tmp_path / "home"))
    yield opened
    opened.close()
