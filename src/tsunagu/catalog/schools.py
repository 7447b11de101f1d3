"""学校マスタ: school names by 学校コード, from the municipality's own file ``home/schools.yaml``.

Departments' exports name a school only by its 13-character 学校コード (文部科学省); people read
names. The board of education keeps the list of its schools, so the municipality supplies it as a
home file, read strictly (a duplicate code, a code not in the 学校コード shape, an empty name or
an unknown key is refused with its line). Without the file, pages show the code as before.

    schools:
      - code: B199290110001
        name: つなぐ市立中央小学校
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tsunagu.yamlstrict import ConfigError, load_model

FILE_NAME = "schools.yaml"
# 学校種 (A–H: 幼稚園 … 特別支援学校) and twelve digits, as the 学校コード is written.
CODE_PATTERN = r"^[A-H][0-9]{12}$"


class School(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SchoolMaster(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schools: list[School] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> SchoolMaster:
        seen: set[str] = set()
        for school in self.schools:
            if school.code in seen:
                raise ValueError(f"学校コード {school.code} が2回あります / duplicate school code")
            seen.add(school.code)
        return self

    def names(self) -> dict[str, str]:
        return {s.code: s.name for s in self.schools}


def read_school_master(path: Path) -> SchoolMaster:
    """The file at ``path``, validated (ConfigError with the line on any mistake)."""
    return load_model(path, SchoolMaster)


def install_school_master(source: Path, home: Path) -> SchoolMaster:
    """Check ``source`` and copy it into the home (it replaces the home's list)."""
    master = read_school_master(source)
    target = home / FILE_NAME
    if source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    return master


class SchoolNames:
    """The home's school names, read again when the file changes (a server keeps one of these)."""

    def __init__(self, home: Path) -> None:
        self.path = home / FILE_NAME
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._names: dict[str, str] = {}

    def get(self) -> dict[str, str]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        mark = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if mark != self._seen:
                self._names = read_school_master(self.path).names()
                self._seen = mark
            return self._names


def school_names(home: Path) -> dict[str, str]:
    """code → name from ``home/schools.yaml``; empty when the municipality has supplied none."""
    path = home / FILE_NAME
    if not path.is_file():
        return {}
    return read_school_master(path).names()


__all__ = ["FILE_NAME", "ConfigError", "School", "SchoolMaster", "SchoolNames", "install_school_master",
           "read_school_master", "school_names"]
