"""Loading rule sets: strict schema, dated parameters, municipal overrides, provenance, hash."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from tsunagu.screen import known_item_ids, load_rule_set
from tsunagu.yamlstrict import ConfigError

RULES = Path(__file__).resolve().parents[2] / "rules"
MINOH = "272205"


def copy_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("scenarios"))
    return rules


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_number(path: Path, fragment: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i + 1 for i, line in enumerate(lines) if fragment in line)


PARAMS = """
parameters:
  - id: test_days
    label: テスト日数
    reference: テスト用
    values:
      - {from: 2025-04-01, value: 20}
      - {from: 2024-04-01, value: 30}
      - {from: 2026-01-01, value: 25}
"""


# --- dated parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (dt.date(2024, 4, 1), 30),  # on the start date
        (dt.date(2025, 3, 31), 30),  # the day before a change
        (dt.date(2025, 4, 1), 20),  # the change day
        (dt.date(2025, 12, 31), 20),
        (dt.date(2026, 1, 1), 25),  # values may be listed in any order
        (dt.date(2030, 1, 1), 25),
    ],
)
def test_value_in_force_is_the_latest_start_on_or_before_as_of(tmp_path: Path, as_of: dt.date, expected: int) -> None:
    rules = copy_rules(tmp_path)
    write(rules / "baseline" / "zz_test.yaml", PARAMS)
    assert load_rule_set(rules, None).parameters_at(as_of)["test_days"] == expected


def test_no_value_in_force_is_an_error_naming_the_parameter(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = write(rules / "baseline" / "zz_test.yaml", PARAMS)
    rule_set = load_rule_set(rules, None)
    with pytest.raises(ConfigError) as err:
        rule_set.parameters["test_days"].at(dt.date(2024, 3, 31))
    assert "'test_days'" in err.value.reason and "2024-03-31" in err.value.reason
    assert err.value.line == line_number(path, "- id: test_days")
    with pytest.raises(ConfigError, match="no value in force"):
        rule_set.parameters_at(dt.date(2020, 1, 1))


def test_same_start_date_twice_is_an_error(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = write(rules / "baseline" / "zz_test.yaml", PARAMS.replace("2026-01-01", "2025-04-01"))
    with pytest.raises(ConfigError, match="same 'from' date twice") as err:
        load_rule_set(rules, None)
    assert err.value.line == line_number(path, "values:")


def test_mixed_value_types_are_an_error(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    write(rules / "baseline" / "zz_test.yaml", PARAMS.replace("value: 25", "value: 二十五"))
    with pytest.raises(ConfigError, match="mixes value types"):
        load_rule_set(rules, None)


def test_thresholds_must_be_ordered_on_the_as_of_date(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    write(
        rules / "municipalities" / "999999" / "x.yaml",
        """
        municipality: {code: "999999", name: テスト市}
        parameters:
          - id: poverty_level1
            reference: テスト
            values: [{from: 2025-04-01, value: 9}]
        """,
    )
    rule_set = load_rule_set(rules, "999999")
    assert rule_set.parameters_at(dt.date(2025, 3, 31))["poverty_level1"] == 2
    with pytest.raises(ConfigError, match="1 <= level1 <= level2"):
        rule_set.parameters_at(dt.date(2025, 4, 1))


# --- strict schema --------------------------------------------------------------------------


def test_unknown_key_is_an_error_with_its_line(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = write(
        rules / "baseline" / "zz_test.yaml",
        PARAMS.replace("    label: テスト日数", "    label: テスト日数\n    colour: red"),
    )
    with pytest.raises(ConfigError, match="unknown key 'colour'") as err:
        load_rule_set(rules, None)
    assert err.value.path == str(path)
    assert err.value.line == line_number(path, "colour: red")


def test_missing_reference_is_an_error_with_its_line(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = write(
        rules / "baseline" / "zz_test.yaml", PARAMS.replace("    reference: テスト用\n", "    reference: '  '\n")
    )
    with pytest.raises(ConfigError, match="reference") as err:
        load_rule_set(rules, None)
    assert err.value.line == line_number(path, "reference:")


def test_unknown_data_item_is_an_error_with_its_line(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = write(
        rules / "baseline" / "zz_test.yaml",
        """
        indicators:
          - id: shoe_size
            label: 靴のサイズ
            kind: latest
            item: shoe_size
        """,
    )
    with pytest.raises(ConfigError, match="unknown data item 'shoe_size'") as err:
        load_rule_set(rules, None)
    assert err.value.line == line_number(path, "item: shoe_size")


def test_item_ids_passed_in_restrict_what_rules_may_read(tmp_path: Path) -> None:
    allowed = known_item_ids() - {"kokoro_weather"}
    with pytest.raises(ConfigError, match="unknown data item 'kokoro_weather'") as err:
        load_rule_set(RULES, None, item_ids=allowed)
    assert err.value.path.endswith("indicators.yaml")
    assert err.value.line == line_number(RULES / "baseline" / "indicators.yaml", "item: kokoro_weather")


@pytest.mark.parametrize(
    ("indicator", "message"),
    [
        ("{id: t, label: t, kind: streak, item: kokoro_weather}", "needs 'where'"),
        ("{id: t, label: t, kind: sum, item: school_aid}", "sum needs a numeric item"),
        ("{id: t, label: t, kind: latest, item: school_aid, value: number}", "holds text values in the catalogue"),
        ("{id: t, label: t, kind: latest, item: school_aid, where: value == 'x'}", "'where' does not apply"),
        ("{id: t, label: t, kind: change, item: academic_score}", "needs period_days or period_months"),
        ("{id: t, label: t, kind: change, item: academic_score, period_days: 10, tolerance_days: 5}", "under half"),
        ("{id: t, label: t, kind: age_years, item: absence_days}", "takes no 'item'"),
        ("{id: t, label: t, kind: count}", "needs an 'item'"),
        ("{id: t, label: t, kind: count, item: absence_days, window_days: 3, window_months: 1}", "not both"),
        ("{id: t, label: t, kind: count, item: absence_days, window_days: param.nope}", "not a number parameter"),
        ("{id: t, label: t, kind: count, item: absence_days, window_days: 0}", "greater than 0"),
        ("{id: t, label: t, kind: count, item: kokoro_weather, where: value == 1}", "compares text with number"),
        ("{id: absence_12m, label: t, kind: count, item: absence_days}", "already defined"),
    ],
)
def test_indicator_checks(tmp_path: Path, indicator: str, message: str) -> None:
    rules = copy_rules(tmp_path)
    path = write(rules / "baseline" / "zz_test.yaml", f"indicators:\n  - {indicator}\n")
    with pytest.raises(ConfigError, match=message) as err:
        load_rule_set(rules, None)
    assert err.value.path == str(path)
    assert err.value.line == 2


def test_duplicate_rule_id_across_files_names_both_places(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    write(
        rules / "baseline" / "zz_test.yaml",
        """
        hard_rules:
          - {id: hr_abuse_recent, label: 重複, when: abuse_recent, reference: テスト}
        """,
    )
    with pytest.raises(ConfigError, match=r"already defined at rules/baseline/hard_rules\.yaml:\d+") as err:
        load_rule_set(rules, None)
    assert err.value.line == 2


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    write(rules / "baseline" / "zz_test.yaml", "parameters: []\nparameters: []\n")
    with pytest.raises(ConfigError, match="duplicate key 'parameters'") as err:
        load_rule_set(rules, None)
    assert err.value.line == 2


# --- municipal overrides ------------------------------------------------------------------------


def test_minoh_override_changes_one_parameter_from_its_date_with_provenance() -> None:
    baseline = load_rule_set(RULES, None)
    minoh = load_rule_set(RULES, MINOH)
    before, after = dt.date(2025, 3, 31), dt.date(2025, 4, 1)
    assert minoh.parameters_at(before) == baseline.parameters_at(before)
    changed = {k for k, v in minoh.parameters_at(after).items() if baseline.parameters_at(after)[k] != v}
    assert changed == {"lunch_arrears_high_months"}
    assert minoh.parameters_at(after)["lunch_arrears_high_months"] == 2
    override_file = RULES / "municipalities" / MINOH / "overrides.yaml"
    shown = minoh.resolved(after)["parameters"]["lunch_arrears_high_months"]
    assert shown["origin"] == f"rules/municipalities/{MINOH}/overrides.yaml:{line_number(override_file, 'value: 2}')}"
    assert shown["reference"].startswith("箕面市")
    baseline_line = line_number(RULES / "baseline" / "parameters.yaml", "value: 3}")
    assert shown["history"][0]["origin"] == f"rules/baseline/parameters.yaml:{baseline_line}"
    assert minoh.resolved(before)["parameters"]["lunch_arrears_high_months"]["value"] == 3
    assert minoh.municipality_name == "箕面市"
    assert minoh.files[-1] == f"rules/municipalities/{MINOH}/overrides.yaml"


OVERRIDE = """
municipality: {code: "999999", name: テスト市}
items:
  - domain: poverty
    id: pov_test_new
    label: 新しい項目
    score: case when lunch_arrears >= 6 then 2 else 0 end
    reference: テスト市の要綱
hard_rules:
  - {id: hr_test_new, label: 新しい絶対条件, when: "coalesce(centre_case, false)", reference: テスト市}
disable:
  - {id: pov_material_arrears, reason: 教材費は市が負担しているため}
  - {id: hr_temp_protection, reason: テスト}
"""


def test_override_adds_and_disables_rules_and_records_where(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = write(rules / "municipalities" / "999999" / "changes.yaml", OVERRIDE)
    rule_set = load_rule_set(rules, "999999")
    poverty = next(j for j in rule_set.judgements if j.domain == "poverty")
    ids = [item.id for item in poverty.items]
    assert "pov_test_new" in ids and "pov_material_arrears" not in ids
    assert [c.id for c in rule_set.hard_rules][-1] == "hr_test_new"
    assert "hr_temp_protection" not in {c.id for c in rule_set.hard_rules}
    shown = rule_set.resolved(dt.date(2025, 3, 31))
    added = next(i for j in shown["judgements"] for i in j["items"] if i["id"] == "pov_test_new")
    assert added["origin"] == f"rules/municipalities/999999/changes.yaml:{line_number(path, '- domain: poverty')}"
    assert shown["disabled"][0] == {
        "id": "pov_material_arrears",
        "reason": "教材費は市が負担しているため",
        "origin": f"rules/municipalities/999999/changes.yaml:{line_number(path, 'pov_material_arrears')}",
    }
    json.dumps(shown, ensure_ascii=False)  # printable as JSON for `tsunagu rules show`
    # The indicator behind the disabled rule is no longer read: data minimisation follows the rules.
    assert "material_fee_arrears" not in rule_set.item_ids
    assert "material_fee_arrears" in load_rule_set(rules, None).item_ids


@pytest.mark.parametrize(
    ("text", "message", "fragment"),
    [
        (OVERRIDE.replace('"999999"', '"272205"'), "not 999999", "code:"),
        (
            OVERRIDE.replace("pov_test_new", "pov_lunch_arrears"),
            "already defined at rules/baseline",
            "id: pov_lunch_arrears",
        ),
        (
            OVERRIDE.replace("id: pov_material_arrears", "id: pov_nothing"),
            "cannot disable 'pov_nothing'",
            "pov_nothing",
        ),
        (OVERRIDE.replace("domain: poverty", "domain: sports"), "domain", "domain: sports"),
        (OVERRIDE + "colour: red\n", "unknown key 'colour'", "colour"),
        (
            OVERRIDE + "parameters:\n  - {id: brand_new, reference: x, values: [{from: 2024-04-01, value: 1}]}\n",
            "needs a label",
            "brand_new",
        ),
        (
            OVERRIDE + "parameters:\n  - {id: epds_cutoff, reference: x, values: [{from: 2024-04-01, value: 高}]}\n",
            "is number in the baseline",
            "epds_cutoff",
        ),
    ],
)
def test_override_errors_point_at_their_line(tmp_path: Path, text: str, message: str, fragment: str) -> None:
    rules = copy_rules(tmp_path)
    path = write(rules / "municipalities" / "999999" / "changes.yaml", text)
    with pytest.raises(ConfigError, match=message) as err:
        load_rule_set(rules, "999999")
    assert err.value.path == str(path)
    assert err.value.line == line_number(path, fragment)


def test_override_replaces_settings_and_combination(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = write(
        rules / "municipalities" / "999999" / "x.yaml",
        """
        municipality: {code: "999999", name: テスト市}
        settings: {stigma_guard: false, reference: テスト市の判断}
        combination:
          reference: テスト市
          tiers:
            - {tier: 重点支援, when: "level.abuse_risk >= 1 or n_hard_rules >= 1"}
            - {tier: 見守り, when: n_flagged >= 1}
        """,
    )
    rule_set = load_rule_set(rules, "999999")
    assert rule_set.settings.stigma_guard is False
    assert [t.tier for t in rule_set.combination.tiers] == ["重点支援", "見守り"]
    assert str(rule_set.settings.origin) == f"rules/municipalities/999999/x.yaml:{line_number(path, 'settings:')}"


def test_municipality_without_overrides_is_the_baseline() -> None:
    other = load_rule_set(RULES, "131016")
    assert other.municipality_code == "131016" and other.municipality_name is None
    assert other.parameters_at(dt.date(2025, 4, 1)) == load_rule_set(RULES, None).parameters_at(dt.date(2025, 4, 1))


def test_municipality_code_must_have_six_digits() -> None:
    with pytest.raises(ValueError, match="6 digits"):
        load_rule_set(RULES, "27220")


# --- hash -------------------------------------------------------------------------------------


def test_hash_is_stable_across_loads_and_ignores_comments_and_layout(tmp_path: Path) -> None:
    first = load_rule_set(RULES, None).hash
    assert first == load_rule_set(RULES, None).hash
    assert len(first) == 64 and int(first, 16) >= 0
    rules = copy_rules(tmp_path)
    params = rules / "baseline" / "parameters.yaml"
    params.write_text("# 追加のコメント\n\n" + params.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_rule_set(rules, None).hash == first


def test_hash_changes_when_a_parameter_or_a_rule_changes(tmp_path: Path) -> None:
    first = load_rule_set(RULES, None).hash
    rules = copy_rules(tmp_path)
    params = rules / "baseline" / "parameters.yaml"
    params.write_text(params.read_text(encoding="utf-8").replace("value: 90}", "value: 91}"), encoding="utf-8")
    changed = load_rule_set(rules, None).hash
    assert changed != first
    judgements = rules / "baseline" / "judgements.yaml"
    judgements.write_text(
        judgements.read_text(encoding="utf-8").replace(
            "then 2 else 0 end\n        benefit", "then 1 else 0 end\n        benefit", 1
        ),
        encoding="utf-8",
    )
    assert load_rule_set(rules, None).hash not in (first, changed)
    assert load_rule_set(RULES, MINOH).hash != first


def test_a_benefit_item_marked_as_a_maltreatment_record_is_refused_at_its_line(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = rules / "baseline" / "judgements.yaml"
    text = path.read_text(encoding="utf-8")
    marked = text.replace("        benefit: true\n", "        benefit: true\n        maltreatment_record: true\n", 1)
    path.write_text(marked, encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be a maltreatment_record") as err:
        load_rule_set(rules, None)
    assert err.value.line == line_number(path, "        maltreatment_record: true")


def test_a_maltreatment_record_must_be_a_boolean(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = rules / "baseline" / "judgements.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("        maltreatment_record: true", '        maltreatment_record: "yes"', 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rule_set(rules, None)
    assert err.value.line == line_number(path, 'maltreatment_record: "yes"')
