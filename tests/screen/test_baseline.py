"""The national baseline itself: complete, referenced, and readable by the catalogue."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tsunagu.screen import DOMAINS, known_item_ids, load_rule_set

RULES = Path(__file__).resolve().parents[2] / "rules"
BASELINE = load_rule_set(RULES, None)


def test_every_domain_is_judged_with_threshold_parameters() -> None:
    assert [j.domain for j in BASELINE.judgements] == list(DOMAINS)
    for judgement in BASELINE.judgements:
        assert judgement.items, judgement.domain
        assert {judgement.level1, judgement.level2} <= set(BASELINE.parameters)


def test_every_rule_and_parameter_has_a_reference() -> None:
    rules = [*BASELINE.scored_items, *BASELINE.hard_rules, *BASELINE.known_to_support]
    assert all(r.reference.strip() for r in rules)
    assert all(v.reference.strip() for p in BASELINE.parameters.values() for v in p.values)
    assert BASELINE.combination.reference.strip() and BASELINE.settings.reference.strip()


def test_rules_read_only_catalogue_items_and_every_defined_indicator_is_used() -> None:
    assert BASELINE.item_ids <= known_item_ids()
    assert {i.id for i in BASELINE.used_indicators} == set(BASELINE.indicators)


def test_benefit_items_are_the_benefit_receipts() -> None:
    benefit = {i.id for i in BASELINE.scored_items if i.benefit}
    assert benefit == {"pov_public_assistance", "pov_school_aid", "pov_child_rearing_allowance", "pov_tax_exempt"}
    assert BASELINE.settings.stigma_guard is True


def test_baseline_size_and_tiers() -> None:
    assert len(BASELINE.scored_items) == 39  # 30; 2026-12: four high-school items, one pre-school item, then
    # four school-life items (persistent lateness, early leaving, health-room visits; SSW/SC referral)
    assert [c.id for c in BASELINE.hard_rules] == [
        "hr_yotaikyo_protected", "hr_cgc_investigating", "hr_abuse_recent", "hr_temp_protection",
    ]  # fmt: skip
    assert [t.tier for t in BASELINE.combination.tiers] == ["重点支援", "予防的支援", "見守り"]


def test_resolved_rule_set_is_json_with_origins() -> None:
    shown = BASELINE.resolved(dt.date(2025, 3, 31))
    text = json.dumps(shown, ensure_ascii=False)
    assert shown["rule_set_hash"] == BASELINE.hash
    assert shown["parameters"]["long_absence_days"]["value"] == 30
    assert shown["parameters"]["long_absence_days"]["origin"].startswith("rules/baseline/parameters.yaml:")
    assert all(
        item["origin"].startswith("rules/baseline/judgements.yaml:") for j in shown["judgements"] for item in j["items"]
    )
    assert "文部科学省" in text
