"""学校マスタ (catalog.schools): read strictly, installed into the home, names looked up by code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagu.catalog.schools import SchoolNames, install_school_master, read_school_master, school_names
from tsunagu.yamlstrict import ConfigError

GOOD = "schools:\n  - code: B199290110001\n    name: つなぐ市立第一小学校\n  - code: C199290120001\n    name: つなぐ市立第一中学校\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_master_is_read_and_installed_into_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert school_names(home) == {}  # none supplied: pages show codes
    master = install_school_master(_write(tmp_path, GOOD), home)
    assert len(master.schools) == 2
    assert school_names(home) == {"B199290110001": "つなぐ市立第一小学校", "C199290120001": "つなぐ市立第一中学校"}


@pytest.mark.parametrize(("text", "line", "fragment"), [
    (GOOD + "  - code: B199290110001\n    name: もう一つ\n", None, "2回"),            # a code twice
    ("schools:\n  - code: S001\n    name: 第一小\n", 2, "code"),                         # not a 学校コード
    ("schools:\n  - code: B199290110001\n    name: ''\n", 3, "name"),                    # an empty name
    ("schools:\n  - code: B199290110001\n    name: 第一小\n    kana: だいいち\n", 4, "kana"),  # an unknown key
    ("schools: []\n", 1, "schools"),                                                     # nothing in it
])
def test_a_mistake_is_refused_with_its_line(tmp_path: Path, text: str, line: int | None, fragment: str) -> None:
    with pytest.raises(ConfigError) as refused:
        read_school_master(_write(tmp_path, text))
    assert fragment in str(refused.value)
    if line is not None:
        assert refused.value.line == line


def test_a_refused_master_leaves_the_home_as_it_was(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    install_school_master(_write(tmp_path, GOOD), home)
    with pytest.raises(ConfigError):
        install_school_master(_write(tmp_path, "schools:\n  - code: nope\n    name: x\n"), home)
    assert len(school_names(home)) == 2


def test_the_server_copy_follows_the_file(tmp_path: Path) -> None:
    names = SchoolNames(tmp_path)
    assert names.get() == {}
    (tmp_path / "schools.yaml").write_text(GOOD, encoding="utf-8")
    assert names.get()["C199290120001"] == "つなぐ市立第一中学校"
    (tmp_path / "schools.yaml").write_text(GOOD.replace("第一中学校", "第一中学校（統合後）"), encoding="utf-8")
    assert names.get()["C199290120001"] == "つなぐ市立第一中学校（統合後）"
