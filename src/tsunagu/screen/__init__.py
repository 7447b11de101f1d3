"""一次スクリーニング: the rule language, its loader and the vectorised evaluator.

Public surface:
- ``load_rule_set(base_dir, municipality_code)`` → ``RuleSet`` (baseline + municipal overrides)
- ``RuleSet.resolved(as_of)`` → JSON-able rule set in force, with origins (``rules show``)
- ``RuleSet.hash`` → sha256 of the canonical rule set; ``RuleSet.item_ids`` → items to fetch
- ``evaluate(rule_set, as_of, people, observations)`` → ``ScreeningResult``
- ``compute_indicators(rule_set, as_of, people, observations)`` → the facts the rules see
- ``load_scenarios`` / ``run_scenario`` / ``run_scenarios`` → YAML scenario tests
"""

from tsunagu.screen.evaluate import (
    OBSERVATION_SCHEMA,
    PEOPLE_SCHEMA,
    ScreeningResult,
    compute_indicators,
    evaluate,
)
from tsunagu.screen.expr import ExprError, parse
from tsunagu.screen.items import known_item_ids, known_item_value_types
from tsunagu.screen.loader import load_rule_set
from tsunagu.screen.model import DOMAINS, TIERS
from tsunagu.screen.reasons import REASON_DTYPE
from tsunagu.screen.ruleset import RuleSet
from tsunagu.screen.scenarios import (
    LoadedScenario,
    ScenarioOutcome,
    load_scenarios,
    run_scenario,
    run_scenarios,
)

__all__ = [
    "DOMAINS",
    "OBSERVATION_SCHEMA",
    "PEOPLE_SCHEMA",
    "REASON_DTYPE",
    "TIERS",
    "ExprError",
    "LoadedScenario",
    "RuleSet",
    "ScenarioOutcome",
    "ScreeningResult",
    "compute_indicators",
    "evaluate",
    "known_item_ids",
    "known_item_value_types",
    "load_rule_set",
    "load_scenarios",
    "parse",
    "run_scenario",
    "run_scenarios",
]
