"""Scenario tests for rule sets, written in YAML by policy staff.

A scenario is one child, a handful of records and what the rules should conclude. Running it
builds the same frames the caller would pass to ``evaluate``, so a scenario exercises the real
evaluation path, not a simplified one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import Field, StringConstraints, ValidationError, model_validator

from tsunagu.screen.evaluate import OBSERVATION_SCHEMA, PEOPLE_SCHEMA, evaluate
from tsunagu.screen.indicators import shift_months
from tsunagu.screen.model import Domain, Strict, Text
from tsunagu.screen.ruleset import RuleSet
from tsunagu.yamlstrict import ConfigError, line_of, read_yaml, validation_error

Scalar = bool | int | float | str
PERSON_ID = "scenario-child"


class Person(Strict):
    birth_date: dt.date
    sex: Literal["M", "F"] | None = None
    grade: Annotated[int, Field(ge=1, le=9)] | None = None
    school_code: str | None = None
    household_id: str | None = None


class Record(Strict):
    """One value, or a series of values on consecutive days or month-ends from ``start``."""

    item: str
    value: Scalar | None = None
    observed_on: dt.date | None = None
    values: list[Scalar] | None = None
    start: dt.date | None = None
    every: Literal["day", "month"] | None = None
    department: str = "scenario"
    source_id: str | None = None
    snapshot_date: dt.date | None = None
    stale: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> Record:
        single = self.value is not None and self.observed_on is not None
        series = self.values is not None and self.start is not None and self.every is not None
        if single == series:
            raise ValueError("give either value + observed_on, or values + start + every")
        return self

    def dated_values(self) -> list[tuple[dt.date, Scalar]]:
        if self.values is None:
            assert self.value is not None and self.observed_on is not None
            return [(self.observed_on, self.value)]
        assert self.start is not None
        if self.every == "day":
            return [(self.start + dt.timedelta(days=i), v) for i, v in enumerate(self.values)]
        return [(_month_end(shift_months(self.start, i)), v) for i, v in enumerate(self.values)]


def _month_end(day: dt.date) -> dt.date:
    return shift_months(day.replace(day=1), 1) - dt.timedelta(days=1)


class Expect(Strict):
    tier: Literal["重点支援", "予防的支援", "見守り", "対象外"]
    domains: list[Domain] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    hard_rules: list[str] | None = None
    known_by: list[str] | None = None
    benefit_only: bool | None = None
    stale_reasons: list[str] | None = None


class Scenario(Strict):
    name: Text
    description: str | None = None
    as_of: dt.date
    person: Person
    records: list[Record] = Field(default_factory=list)
    expect: Expect


class ScenarioFile(Strict):
    municipality: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None
    scenarios: list[Scenario] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedScenario:
    scenario: Scenario
    file: str
    line: int | None
    municipality: str | None

    @property
    def test_id(self) -> str:
        # ASCII on purpose: pytest escapes other characters in ids; failures print the name.
        return f"{self.municipality or 'baseline'}/{Path(self.file).name}:{self.line}"


@dataclass(frozen=True)
class ScenarioOutcome:
    name: str
    file: str
    line: int | None
    passed: bool
    differences: list[str] = field(default_factory=list)
    actual: dict[str, Any] = field(default_factory=dict)


def load_scenarios(path: Path) -> list[LoadedScenario]:
    """Parse one scenario file strictly; each scenario keeps its file and line."""
    data, node = read_yaml(path)
    if data is None:
        raise ConfigError(path, None, "file is empty")
    try:
        parsed = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, node, exc) from exc
    names: dict[str, int | None] = {}
    out = []
    for i, scenario in enumerate(parsed.scenarios):
        line = line_of(node, ("scenarios", i))
        if scenario.name in names:
            raise ConfigError(path, line, f"scenario name {scenario.name!r} repeats line {names[scenario.name]}")
        names[scenario.name] = line
        out.append(LoadedScenario(scenario, str(path), line, parsed.municipality))
    return out


def scenario_frames(scenario: Scenario) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``people`` and ``observations`` frames for one scenario."""
    person = scenario.person
    people = pl.DataFrame(
        [
            {
                "person_id": PERSON_ID,
                "birth_date": person.birth_date,
                "sex": person.sex,
                "school_code": person.school_code,
                "grade": person.grade,
                "household_id": person.household_id,
            }
        ],
        schema=PEOPLE_SCHEMA,
    )
    rows = []
    for record in scenario.records:
        for observed_on, value in record.dated_values():
            rows.append(
                {
                    "person_id": PERSON_ID,
                    "item_id": record.item,
                    "value_num": float(value)
                    if isinstance(value, int | float) and not isinstance(value, bool)
                    else None,
                    "value_text": value if isinstance(value, str) else None,
                    "value_bool": value if isinstance(value, bool) else None,
                    "observed_on": observed_on,
                    "department": record.department,
                    "source_id": record.source_id or f"scenario:{record.item}",
                    "snapshot_date": record.snapshot_date or scenario.as_of,
                    "stale": record.stale,
                }
            )
    return people, pl.DataFrame(rows, schema=OBSERVATION_SCHEMA)


def run_scenario(loaded: LoadedScenario, rule_set: RuleSet) -> ScenarioOutcome:
    """Evaluate one scenario and compare every stated expectation with the result."""
    scenario = loaded.scenario
    if loaded.municipality != rule_set.municipality_code:
        raise ValueError(
            f"{loaded.file}:{loaded.line}: scenario is for municipality {loaded.municipality}, "
            f"rule set is for {rule_set.municipality_code}"
        )
    unknown = {r.item for r in scenario.records} - rule_set.item_ids
    if unknown:
        raise ConfigError(loaded.file, loaded.line, f"records of items no rule reads: {sorted(unknown)}")
    people, observations = scenario_frames(scenario)
    row = evaluate(rule_set, scenario.as_of, people, observations).results.row(0, named=True)
    actual: dict[str, Any] = {
        "tier": row["tier"],
        "domains": sorted(row["domains"]),
        "reasons": sorted({r["rule"] for r in row["reasons"]}),
        "hard_rules": sorted(row["hard_rules"]),
        "known_by": sorted(row["known_by"]),
        "benefit_only": row["benefit_only"],
        "stale_reasons": sorted({r["rule"] for r in row["reasons"] if r["stale"]}),
    }
    expect = scenario.expect
    wanted: dict[str, Any] = {"tier": expect.tier, "domains": sorted(expect.domains), "reasons": sorted(expect.reasons)}
    for key in ("hard_rules", "known_by", "stale_reasons"):
        value = getattr(expect, key)
        if value is not None:
            wanted[key] = sorted(value)
    if expect.benefit_only is not None:
        wanted["benefit_only"] = expect.benefit_only
    differences = [
        f"{key}: expected {value!r}, got {actual[key]!r}" for key, value in wanted.items() if actual[key] != value
    ]
    return ScenarioOutcome(scenario.name, loaded.file, loaded.line, not differences, differences, actual)


def run_scenarios(path: Path, rule_set: RuleSet) -> list[ScenarioOutcome]:
    """Run every scenario in one file against ``rule_set``."""
    return [run_scenario(loaded, rule_set) for loaded in load_scenarios(path)]
