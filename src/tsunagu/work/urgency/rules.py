"""Hard rules first: the floor an intake's graded items set, before and whatever any estimate says.

Any grade with level 緊急 (a critical item) or a 緊急 combination makes the intake 緊急. This is
the paper sheet that stood beside 三重県's AiCAN, and the lesson of the 2023 津市 case: a
critical item must never be averaged away. Nothing in this module looks at an estimate, and
``shown_level`` — the level every page, PDF and validation shows — takes the estimate only to
prove that it cannot lower the floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tsunagu.errors import InputError
from tsunagu.work.urgency.items import UNKNOWN, ItemSet, default_items

URGENT = "緊急"
HIGH = "高"
# No floor from the rules: the staff decide. Never worded "低" (a low label closed the 津市 case).
OPEN = "職員が判断"
LEVEL_ORDER = {OPEN: 0, HIGH: 1, URGENT: 2}


class InvalidGrades(InputError, ValueError):
    """The grades name an item or grade the item set does not have."""

    code = "invalid_grades"


@dataclass(frozen=True)
class Trigger:
    """One reason for the floor: an item at a grade, or a combination."""

    kind: str  # item / combination
    id: str
    label: str
    level: str
    reference: str


@dataclass(frozen=True)
class HardResult:
    level: str
    triggers: tuple[Trigger, ...]
    unknown_critical: tuple[str, ...]  # labels of critical items still 不明: ask these first

    @property
    def urgent(self) -> bool:
        return self.level == URGENT


def normalise(grades: Mapping[str, str], items: ItemSet | None = None) -> dict[str, str]:
    """Every item with a grade; an item not given is 不明 (never "none"). Unknown names refused."""
    items = items or default_items()
    unknown_items = [k for k in grades if k not in items.ids]
    if unknown_items:
        raise InvalidGrades(f"項目 {', '.join(unknown_items)} はありません。")
    result: dict[str, str] = {}
    for item in items.items:
        code = grades.get(item.id, UNKNOWN) or UNKNOWN
        if code not in {g.code for g in item.grades}:
            raise InvalidGrades(f"「{item.label}」に段階 {code!r} はありません。")
        result[item.id] = code
    return result


def evaluate(grades: Mapping[str, str], items: ItemSet | None = None) -> HardResult:
    """The floor the items set: 緊急, 高 or none (the staff decide)."""
    items = items or default_items()
    full = normalise(grades, items)
    triggers: list[Trigger] = []
    for item in items.items:
        grade = item.grade(full[item.id])
        if grade.level is not None:
            triggers.append(Trigger("item", item.id, f"{item.label}: {grade.label}", grade.level, item.reference))
    for combo in items.combinations:
        if all(full[item_id] in codes for item_id, codes in combo.when.items()):
            triggers.append(Trigger("combination", combo.id, combo.label, combo.level, combo.reference))
    level = max((t.level for t in triggers), key=LEVEL_ORDER.__getitem__, default=OPEN)
    triggers.sort(key=lambda t: -LEVEL_ORDER[t.level])
    unknown_critical = tuple(it.label for it in items.critical_items() if full[it.id] == UNKNOWN)
    return HardResult(level, tuple(triggers), unknown_critical)


def shown_level(hard: HardResult, estimate_level: str | None = None) -> str:
    """The level shown: the higher of the rules' floor and any level an estimate suggests.

    An estimate can raise attention (never used for that today: estimate_level is None on every
    page) but can never lower the floor: this max is the whole of the rule.
    """
    if estimate_level is None or estimate_level not in LEVEL_ORDER:
        return hard.level
    return max(hard.level, estimate_level, key=LEVEL_ORDER.__getitem__)
