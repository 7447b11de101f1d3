"""The data-item catalogue: departments and the data items they hold.

Every other part names data by catalogue id, so the catalogue is loaded strictly: unknown keys,
duplicate ids, unknown departments and impossible retention periods are errors with file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tsunagu.yamlstrict import ConfigError, line_of, read_yaml, validation_error

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_RETENTION_YEARS = 100


class DepartmentKind(StrEnum):
    MUNICIPAL = "municipal"
    SCHOOL = "school"
    PREFECTURE = "prefecture"


class Domain(StrEnum):
    BASIC = "basic"
    WELFARE = "welfare"
    CHILD_WELFARE = "child_welfare"
    MATERNAL_CHILD_HEALTH = "maternal_child_health"
    CHILDCARE = "childcare"
    EDUCATION = "education"
    SELF_REPORT = "self_report"


DOMAIN_LABELS: dict[Domain, str] = {
    Domain.BASIC: "基本",
    Domain.WELFARE: "福祉",
    Domain.CHILD_WELFARE: "児童福祉",
    Domain.MATERNAL_CHILD_HEALTH: "母子保健",
    Domain.CHILDCARE: "保育",
    Domain.EDUCATION: "教育",
    Domain.SELF_REPORT: "本人の申告",
}

ValueType = Literal["bool", "int", "float", "date", "code", "text"]


class LegalBasis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    law: str = Field(min_length=1)
    article: str = Field(min_length=1)
    clause: str = ""

    def __str__(self) -> str:
        clause = f"第{self.clause}項" if self.clause else ""
        return f"{self.law} 第{self.article}条{clause}"


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str = Field(min_length=1)
    kind: DepartmentKind


class ValueChecks(BaseModel):
    """What a value of an item may be, beyond its type: a value outside is loaded as missing and flagged.

    ``min``/``max`` bound numbers (a count is never below zero); ``not_after_export`` says a date
    cannot lie after the export that reports it (a death or a move in is recorded after it happens);
    ``pattern`` is the shape a text value must have once width-folded (a class is 2組 or ひまわり学級,
    not ``#VALUE!``), matched whole.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None
    not_after_export: bool = False
    pattern: str | None = None

    @model_validator(mode="after")
    def _compiles(self) -> ValueChecks:
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"checks.pattern is not a regular expression: {exc}") from None
        return self


class DataItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str = Field(min_length=1)
    domain: Domain
    tier: Literal["basic", "optional"]
    department: str
    value_type: ValueType
    codes: tuple[str, ...] | None = None
    unit: str | None = None
    sensitivity: Annotated[int, Field(ge=1, le=3)]
    legal_basis: LegalBasis
    retention_years: int
    description: str | None = None
    checks: ValueChecks | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DataItem:
        if not 1 <= self.retention_years <= MAX_RETENTION_YEARS:
            raise ValueError(
                f"impossible retention period {self.retention_years} years "
                f"(must be 1–{MAX_RETENTION_YEARS})"
            )
        if self.value_type == "code" and not self.codes:
            raise ValueError("a code item needs its list of codes")
        if self.value_type != "code" and self.codes:
            raise ValueError(f"codes are only allowed on code items, not {self.value_type}")
        checks = self.checks
        if checks is not None:
            if (checks.min is not None or checks.max is not None) and self.value_type not in ("int", "float"):
                raise ValueError(f"checks.min/max are for int and float items, not {self.value_type}")
            if checks.not_after_export and self.value_type != "date":
                raise ValueError(f"checks.not_after_export is for date items, not {self.value_type}")
            if checks.pattern is not None and self.value_type != "text":
                raise ValueError(f"checks.pattern is for text items, not {self.value_type}")
            if checks.min is not None and checks.max is not None and checks.min > checks.max:
                raise ValueError("checks.min is above checks.max")
        return self


class Purpose(BaseModel):
    """利用目的: why data is used (the access policy's rules and the manifests' releases name it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str = Field(min_length=1)
    basis: str = ""  # the legal basis of the use, where the purpose is not the system's own


class _PurposesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purposes: list[Purpose]


class _DepartmentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    departments: list[Department]


class _ItemsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[DataItem]


@dataclass(frozen=True)
class Catalog:
    departments: dict[str, Department]
    items: dict[str, DataItem]
    purposes: dict[str, Purpose]

    def item(self, item_id: str) -> DataItem:
        try:
            return self.items[item_id]
        except KeyError:
            raise KeyError(f"unknown data item {item_id!r}") from None

    def department(self, department_id: str) -> Department:
        try:
            return self.departments[department_id]
        except KeyError:
            raise KeyError(f"unknown department {department_id!r}") from None

    def items_of(self, department_id: str) -> Iterator[DataItem]:
        return (item for item in self.items.values() if item.department == department_id)


def _load_list(path: Path, text: str, model: type[BaseModel], key: str) -> list[tuple[BaseModel, int]]:
    data, node = read_yaml(path, text)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, node, exc) from exc
    entries: list[BaseModel] = getattr(parsed, key)
    return [(entry, line_of(node, (key, i)) or 0) for i, entry in enumerate(entries)]


def _load_purposes(path: Path) -> dict[str, Purpose]:
    purposes: dict[str, Purpose] = {}
    for entry, line in _load_list(path, path.read_text("utf-8"), _PurposesFile, "purposes"):
        assert isinstance(entry, Purpose)
        if entry.id in purposes:
            raise ConfigError(path, line, f"duplicate purpose id {entry.id!r}")
        purposes[entry.id] = entry
    return purposes


def load_catalog(departments_path: Path, items_path: Path, purposes_path: Path | None = None) -> Catalog:
    """Load and cross-check a catalogue from its YAML files (the packaged purposes unless given)."""
    departments: dict[str, Department] = {}
    for entry, line in _load_list(departments_path, departments_path.read_text("utf-8"), _DepartmentsFile, "departments"):
        assert isinstance(entry, Department)
        if entry.id in departments:
            raise ConfigError(departments_path, line, f"duplicate department id {entry.id!r}")
        departments[entry.id] = entry
    items: dict[str, DataItem] = {}
    for entry, line in _load_list(items_path, items_path.read_text("utf-8"), _ItemsFile, "items"):
        assert isinstance(entry, DataItem)
        if entry.id in items:
            raise ConfigError(items_path, line, f"duplicate item id {entry.id!r}")
        if entry.department not in departments:
            raise ConfigError(
                items_path, line, f"item {entry.id!r}: unknown department {entry.department!r}"
            )
        items[entry.id] = entry
    purposes = _load_purposes(purposes_path or packaged_purposes_path())
    return Catalog(departments=departments, items=items, purposes=purposes)


def packaged_purposes_path() -> Path:
    return Path(str(resources.files("tsunagu.catalog") / "data" / "purposes.yaml"))


def packaged_paths() -> tuple[Path, Path]:
    base = resources.files("tsunagu.catalog") / "data"
    return Path(str(base / "departments.yaml")), Path(str(base / "items.yaml"))


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The catalogue shipped with the package."""
    return load_catalog(*packaged_paths())


# The key under which a ``Hub`` puts its catalogue in the ``info`` of every session it makes.
SESSION_CATALOG = "tsunagu.catalog"


def catalog_of(session: Session) -> Catalog:
    """The catalogue of the municipality whose hub made ``session``: services get their vocabulary
    with the session they are handed, never from a global. A session made without a hub (a
    migration, a test's own factory) reads the packaged catalogue, which is also what a hub holds."""
    found = session.info.get(SESSION_CATALOG)
    return found if isinstance(found, Catalog) else default_catalog()
