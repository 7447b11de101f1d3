"""Every YAML scenario of the baseline and of each municipality, one test per scenario."""

from __future__ import annotations

import textwrap
from functools import cache
from pathlib import Path

import pytest

from tsunagu.screen import DOMAINS, LoadedScenario, RuleSet, load_rule_set, load_scenarios, run_scenario, run_scenarios
from tsunagu.yamlstrict import ConfigError

RULES = Path(__file__).resolve().parents[2] / "rules"
SCENARIO_FILES = sorted((RULES / "baseline" / "scenarios").glob("*.yaml")) + sorted(
    (RULES / "municipalities").glob("*/scenarios/*.yaml")
)
SCENARIOS = [s for path in SCENARIO_FILES for s in load_scenarios(path)]
BASELINE_SCENARIOS = [s for s in SCENARIOS if s.municipality is None]


@cache
def rule_set(municipality: str | None) -> RuleSet:
    return load_rule_set(RULES, municipality)


@pytest.mark.parametrize("loaded", SCENARIOS, ids=[s.test_id for s in SCENARIOS])
def test_scenario(loaded: LoadedScenario) -> None:
    outcome = run_scenario(loaded, rule_set(loaded.municipality))
    assert outcome.passed, f"{loaded.file}:{loaded.line} {loaded.scenario.name}: " + "; ".join(outcome.differences)


def test_baseline_scenarios_cover_every_domain_hard_rule_and_guard() -> None:
    baseline = rule_set(None)
    assert len(BASELINE_SCENARIOS) >= 15
    expected_domains = {d for s in BASELINE_SCENARIOS for d in s.scenario.expect.domains}
    assert expected_domains == set(DOMAINS)
    fired = {r for s in BASELINE_SCENARIOS for r in s.scenario.expect.hard_rules or []}
    assert fired == {c.id for c in baseline.hard_rules}
    assert any(s.scenario.expect.benefit_only and s.scenario.expect.tier == "対象外" and s.scenario.expect.domains
               for s in BASELINE_SCENARIOS)
    assert any(not s.scenario.records and s.scenario.expect.tier == "対象外" for s in BASELINE_SCENARIOS)
    tiers = {s.scenario.expect.tier for s in BASELINE_SCENARIOS}
    assert tiers == {"重点支援", "予防的支援", "見守り", "対象外"}


def test_a_parameter_date_change_is_covered() -> None:
    """Same child and records on two as-of dates with different tiers, somewhere in the scenarios."""
    by_input: dict[str, set[tuple[str, str]]] = {}
    for s in SCENARIOS:
        key = s.scenario.person.model_dump_json() + "".join(r.model_dump_json() for r in s.scenario.records)
        by_input.setdefault(key, set()).add((s.scenario.as_of.isoformat(), s.scenario.expect.tier))
    assert any(len({d for d, _ in seen}) > 1 and len({t for _, t in seen}) > 1 for seen in by_input.values())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


ONE = """
scenarios:
  - name: 滞納
    as_of: 2025-03-31
    person: {birth_date: 2014-06-15, grade: 5}
    records:
      - {item: lunch_fee_arrears_months, value: 3, observed_on: 2025-03-31}
    expect: {tier: 見守り, domains: [poverty], reasons: [pov_lunch_arrears]}
"""


def test_runner_reports_every_difference(tmp_path: Path) -> None:
    wrong = ONE.replace("tier: 見守り, domains: [poverty]", "tier: 重点支援, domains: []")
    (outcome,) = run_scenarios(write(tmp_path, wrong), rule_set(None))
    assert not outcome.passed
    assert outcome.differences == [
        "tier: expected '重点支援', got '見守り'",
        "domains: expected [], got ['poverty']",
    ]
    (ok,) = run_scenarios(write(tmp_path, ONE), rule_set(None))
    assert ok.passed and ok.line == 2


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (ONE.replace("grade: 5}", "grade: 5, shoe: 3}"), "unknown key 'shoe'", 4),
        (ONE.replace("tier: 見守り", "tier: 要注意"), "expect.tier", 7),
        (ONE.replace("lunch_fee_arrears_months", "shoe_size"), "no rule reads", 2),
        (ONE.replace(", observed_on: 2025-03-31", ""), "either value", 6),
        (ONE + ONE.replace("scenarios:\n", ""), "repeats line 2", 9),
    ],
)
def test_malformed_scenarios_are_errors_with_the_line(tmp_path: Path, text: str, message: str, line: int) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        run_scenarios(write(tmp_path, text), rule_set(None))
    assert err.value.line == line


def test_scenario_for_another_municipality_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scenario is for municipality 272205"):
        run_scenarios(write(tmp_path, 'municipality: "272205"\n' + ONE), rule_set(None))
