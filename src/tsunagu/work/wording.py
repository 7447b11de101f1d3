"""How a screening reason reads to a person: values in words, the item named for the value shown,
one line per reason however many records it cites.

A reason's value is the value of the rule's indicator — often an aggregate over months (欠席日数 over
the last 12 months), not the monthly record the item is — so the item's "（月）" (per month) would
mislabel it; booleans read あり/なし, never ``true``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tsunagu.catalog import DataItem

BOOLEAN_WORDS = {"true": "あり", "false": "なし", "True": "あり", "False": "なし"}
PER_MONTH = "（月）"
UNIT_FIRST = frozenset({"偏差値"})


def reason_value(value: Any, item: DataItem | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    return BOOLEAN_WORDS.get(text, text) if item is None or item.value_type == "bool" or text in BOOLEAN_WORDS else text


def with_unit(text: str, unit: str | None) -> str:
    """A number with its unit as Japanese writes it: 8日, 3か月 — but 偏差値 46.3 (the name comes first)."""
    if not unit:
        return text
    return f"{unit} {text}" if unit in UNIT_FIRST else f"{text}{unit}"


def reason_item_label(item: DataItem | None) -> str:
    if item is None:
        return ""
    label = item.label.removesuffix(PER_MONTH)
    return f"{label}（判定に用いた集計値）" if item.label.endswith(PER_MONTH) else label


@dataclass(frozen=True)
class ReasonLine:
    """One reason with the records it cites (item, value, date, stale), in the order they came."""

    label: str
    evidence: list[Any]


def grouped(reasons: Sequence[Any]) -> list[ReasonLine]:
    lines: dict[str, ReasonLine] = {}
    for reason in reasons:
        line = lines.setdefault(reason.label, ReasonLine(reason.label, []))
        if not any((e.item_label, e.value) == (reason.item_label, reason.value) for e in line.evidence):
            line.evidence.append(reason)
    return list(lines.values())
