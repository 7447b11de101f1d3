"""The graded items of an intake's urgency assessment, loaded strictly from ``items.yaml``.

Items, grades, critical flags and references are data (like the screening rules), so that a
change of the national sheet is a reviewed change of a dated file. The loader checks what the
code relies on: every item has exactly one "不明" grade, ranks are distinct, an item flagged
critical has a 緊急 grade (and only such items do), combinations name real items and grades.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tsunagu.yamlstrict import ConfigError, line_of, read_yaml, validation_error

Level = Literal["緊急", "高"]
UNKNOWN = "unknown"
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


class Grade(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    label: str = Field(min_length=1)
    rank: Annotated[int, Field(ge=0, le=9)] | None = None
    level: Level | None = None
    unknown: bool = False

    @model_validator(mode="after")
    def _unknown_has_no_rank(self) -> Grade:
        if self.unknown and (self.rank is not None or self.level is not None or self.code != UNKNOWN):
            raise ValueError(f"the unknown grade must be code {UNKNOWN!r} without rank or level")
        if not self.unknown and self.rank is None:
            raise ValueError(f"grade {self.code!r} needs a rank (its degree; 0 = none)")
        return self


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Code
    label: str = Field(min_length=1)
    help: str = ""
    critical: bool
    reference: str = Field(min_length=1)
    grades: list[Grade] = Field(min_length=2)

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        codes = [g.code for g in self.grades]
        if len(set(codes)) != len(codes):
            raise ValueError(f"item {self.id!r}: grade codes repeat")
        if sum(g.unknown for g in self.grades) != 1:
            raise ValueError(f"item {self.id!r}: exactly one grade must be the unknown ('不明') grade")
        ranks = [g.rank for g in self.grades if not g.unknown]
        if len(set(ranks)) != len(ranks):
            raise ValueError(f"item {self.id!r}: ranks repeat")
        has_urgent = any(g.level == "緊急" for g in self.grades)
        if has_urgent != self.critical:
            raise ValueError(f"item {self.id!r}: critical is {self.critical} but "
                             f"{'a' if has_urgent else 'no'} grade has level 緊急")
        return self

    def grade(self, code: str) -> Grade:
        for g in self.grades:
            if g.code == code:
                return g
        raise KeyError(code)

    @property
    def known_grades(self) -> list[Grade]:
        return sorted((g for g in self.grades if not g.unknown), key=lambda g: g.rank or 0)

    @property
    def max_rank(self) -> int:
        return max(g.rank or 0 for g in self.grades)

    def critical_grades(self) -> list[Grade]:
        return [g for g in self.grades if g.level == "緊急"]


class Combination(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Code
    label: str = Field(min_length=1)
    level: Level
    when: dict[str, list[str]] = Field(min_length=2)
    reference: str = Field(min_length=1)


class SafetyCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: Annotated[int, Field(ge=1, le=48)]
    reference: str = Field(min_length=1)


class EstimateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    differs_at: Annotated[float, Field(gt=0, lt=1)]
    reference: str = Field(min_length=1)


class ItemSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    valid_from: date
    safety_check: SafetyCheck
    estimate: EstimateSettings
    items: list[Item] = Field(min_length=1)
    combinations: list[Combination] = []

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    @property
    def ids(self) -> list[str]:
        return [it.id for it in self.items]

    def critical_items(self) -> list[Item]:
        return [it for it in self.items if it.critical]


def _check_references(items: ItemSet, path: Path, node: yaml.Node | None) -> None:
    """Cross-item checks pydantic cannot point at: unique ids, combinations naming real grades."""
    seen: set[str] = set()
    for n, it in enumerate(items.items):
        if it.id in seen:
            raise ConfigError(path, line_of(node, ("items", n, "id")), f"item id {it.id!r} repeats")
        seen.add(it.id)
    for n, combo in enumerate(items.combinations):
        for item_id, codes in combo.when.items():
            where = line_of(node, ("combinations", n, "when", item_id))
            if item_id not in seen:
                raise ConfigError(path, where, f"combination {combo.id!r}: no item {item_id!r}")
            known = {g.code for g in items.item(item_id).grades if not g.unknown}
            wrong = [c for c in codes if c not in known]
            if wrong or not codes:
                raise ConfigError(path, where, f"combination {combo.id!r}: {item_id} has no grade {wrong or codes}")


def load_items(path: Path | str, text: str | None = None) -> ItemSet:
    """Load and check an item file; errors name the file and line (``ConfigError``)."""
    data, node = read_yaml(path, text)
    if data is None:
        raise ConfigError(path, None, "file is empty")
    try:
        items = ItemSet.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, node, exc) from exc
    _check_references(items, Path(path), node)
    return items


def packaged_path() -> Path:
    return Path(str(resources.files("tsunagu.work.urgency") / "items.yaml"))


@lru_cache(maxsize=1)
def default_items() -> ItemSet:
    return load_items(packaged_path())
