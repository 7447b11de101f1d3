"""The graded items load strictly, and the hard rules come first: every critical item alone → 緊急."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsunagu.work.urgency.items import UNKNOWN, default_items, load_items, packaged_path
from tsunagu.work.urgency.rules import HIGH, OPEN, URGENT, InvalidGrades, evaluate, shown_level
from tsunagu.yamlstrict import ConfigError

ITEMS = default_items()
CRITICAL_CASES = [(it.id, g.code) for it in ITEMS.critical_items() for g in it.critical_grades()]


def test_every_item_has_unknown_as_its_own_value_and_graded_degrees() -> None:
    for item in ITEMS.items:
        assert item.grade(UNKNOWN).label.startswith("不明")
        assert len(item.known_grades) >= 2, item.id
    assert len(CRITICAL_CASES) >= 6  # life threat, injury, sexual abuse, child's wish, neglect, guardian


@pytest.mark.parametrize(("item_id", "code"), CRITICAL_CASES)
def test_each_critical_item_alone_gives_urgent(item_id: str, code: str) -> None:
    result = evaluate({item_id: code})
    assert result.level == URGENT
    assert result.triggers[0].id == item_id
    # and no estimate, however low, lowers it
    assert shown_level(result, OPEN) == URGENT


@pytest.mark.parametrize(("item_id", "code"), CRITICAL_CASES)
def test_a_critical_item_stays_urgent_whatever_else_is_answered(item_id: str, code: str) -> None:
    lowest = {it.id: it.known_grades[0].code for it in ITEMS.items}
    assert evaluate({**lowest, item_id: code}).level == URGENT


def test_nothing_known_is_never_called_low_and_names_the_unknown_critical_items() -> None:
    result = evaluate({})
    assert result.level == OPEN and "低" not in result.level
    assert len(result.unknown_critical) == len(ITEMS.critical_items())


def test_combinations_and_floors() -> None:
    assert evaluate({"injury": "minor", "injury_site": "head_face", "under_three": "yes"}).level == URGENT
    assert evaluate({"injury": "minor", "injury_site": "head_face", "under_three": "no"}).level == HIGH
    # "mother kicked me": a specific disclosure is never below 高, with an injury it is 緊急
    assert evaluate({"child_disclosure": "specific"}).level == HIGH
    assert evaluate({"child_disclosure": "specific", "injury": "moderate"}).level == URGENT
    assert evaluate({"injury": "minor", "neglect": "mild"}).level == OPEN


def test_unknown_names_are_refused() -> None:
    with pytest.raises(InvalidGrades):
        evaluate({"no_such_item": "none"})
    with pytest.raises(InvalidGrades):
        evaluate({"injury": "terrible"})


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = packaged_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "items.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("      - {code: unknown, label: 不明, unknown: true}\n  - id: injury\n", "  - id: injury\n", "- id: life_threat",
     "unknown"),
    ("critical: true\n    reference: 子ども虐待対応の手引き 一時保護決定に向けてのアセスメントシート ③（性的",
     "critical: false\n    reference: 子ども虐待対応の手引き 一時保護決定に向けてのアセスメントシート ③（性的",
     "- id: sexual_abuse", "critical"),
    ("under_three: [\"yes\"]", "under_three: [\"maybe\"]", "under_three: [\"maybe\"]", "no grade"),
    ("  hours: 48", "  hours: 72", "hours: 72", "48"),
    ("    label: 外傷の程度\n", "    label: 外傷の程度\n    colour: red\n", "colour: red", "unknown key"),
])
def test_a_broken_item_file_is_refused_with_file_and_line(tmp_path: Path, old: str, new: str, needle: str,
                                                          message: str) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as err:
        load_items(path)
    assert err.value.path == str(path)
    assert err.value.line == _line(path, needle)
    assert message in err.value.reason
