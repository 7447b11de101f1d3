"""The resolved rule set: baseline and overrides merged, every element with its origin.

A screening run freezes the rule set by its hash, so the hash covers meaning only — ids,
expressions, dated values, references — and not where in which file an element was written:
moving a rule between files or adding a comment does not change the hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tsunagu.screen.expr import Node, Type, refs
from tsunagu.screen.model import DOMAINS
from tsunagu.yamlstrict import ConfigError

Scalar = bool | int | float | str


@dataclass(frozen=True)
class Origin:
    """Where an element was written: a path relative to the rules directory's parent, and line."""

    file: str
    line: int | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class DatedParam:
    start: dt.date
    value: Scalar
    reference: str
    origin: Origin


@dataclass(frozen=True)
class ParameterDef:
    id: str
    label: str
    unit: str | None
    type: Type
    values: tuple[DatedParam, ...]  # sorted by start
    origin: Origin

    def at(self, as_of: dt.date) -> DatedParam:
        in_force = [v for v in self.values if v.start <= as_of]
        if not in_force:
            first = self.values[0].start.isoformat()
            raise ConfigError(
                self.origin.file,
                self.origin.line,
                f"parameter {self.id!r} has no value in force on {as_of.isoformat()} "
                f"(its earliest value starts {first})",
            )
        return in_force[-1]


@dataclass(frozen=True)
class Expression:
    source: str
    node: Node = field(compare=False)
    origin: Origin = field(compare=False)


@dataclass(frozen=True)
class Window:
    """Look-back from the as-of date; ``amount`` is a number or a parameter id."""

    unit: str  # "days" or "months"
    amount: int | str


@dataclass(frozen=True)
class IndicatorDef:
    id: str
    label: str
    kind: str
    item: str | None
    column: Type | None  # which value column of the item is read (None: person frame)
    value_type: Type  # the type the indicator yields in expressions
    window: Window | None
    where: Expression | None
    period: Window | None
    tolerance_days: int
    origin: Origin


@dataclass(frozen=True)
class ScoredItemDef:
    id: str
    domain: str
    label: str
    score: Expression
    reference: str
    benefit: bool
    maltreatment_record: bool
    evidence: tuple[str, ...]
    origin: Origin


@dataclass(frozen=True)
class JudgementDef:
    domain: str
    label: str
    reference: str
    level1: str
    level2: str
    items: tuple[ScoredItemDef, ...]
    origin: Origin


@dataclass(frozen=True)
class ConditionDef:
    id: str
    label: str
    when: Expression
    reference: str
    evidence: tuple[str, ...]
    origin: Origin


@dataclass(frozen=True)
class TierRuleDef:
    tier: str
    when: Expression


@dataclass(frozen=True)
class CombinationDef:
    reference: str
    tiers: tuple[TierRuleDef, ...]
    origin: Origin


@dataclass(frozen=True)
class SettingsDef:
    stigma_guard: bool
    reference: str
    origin: Origin
    list_share: float = 0.15


@dataclass(frozen=True)
class DisabledDef:
    id: str
    reason: str
    origin: Origin


@dataclass(frozen=True)
class RuleSet:
    municipality_code: str | None
    municipality_name: str | None
    parameters: dict[str, ParameterDef]
    indicators: dict[str, IndicatorDef]
    judgements: tuple[JudgementDef, ...]
    hard_rules: tuple[ConditionDef, ...]
    known_to_support: tuple[ConditionDef, ...]
    combination: CombinationDef
    settings: SettingsDef
    disabled: tuple[DisabledDef, ...]
    files: tuple[str, ...]

    @property
    def scored_items(self) -> tuple[ScoredItemDef, ...]:
        return tuple(item for j in self.judgements for item in j.items)

    @cached_property
    def used_indicators(self) -> tuple[IndicatorDef, ...]:
        """Indicators some enabled rule reads; others are not computed and their items not read."""
        exprs = [i.score for i in self.scored_items]
        exprs += [c.when for c in (*self.hard_rules, *self.known_to_support)]
        names = {r.name for e in exprs for r in refs(e.node) if r.namespace is None}
        names.update(e for item in self.scored_items for e in item.evidence)
        names.update(e for cond in self.hard_rules for e in cond.evidence)
        return tuple(ind for iid, ind in self.indicators.items() if iid in names)

    @property
    def item_ids(self) -> frozenset[str]:
        """Data items the rule set reads: what the caller must fetch, and nothing more."""
        return frozenset(i.item for i in self.used_indicators if i.item is not None)

    def parameters_at(self, as_of: dt.date) -> dict[str, Scalar]:
        """Every parameter's value in force on ``as_of``; ConfigError names one with none."""
        values = {pid: p.at(as_of).value for pid, p in self.parameters.items()}
        for judgement in self.judgements:
            t1, t2 = values[judgement.level1], values[judgement.level2]
            if not (isinstance(t1, int | float) and isinstance(t2, int | float)) or not 1 <= t1 <= t2:
                raise ConfigError(
                    judgement.origin.file,
                    judgement.origin.line,
                    f"domain {judgement.domain!r}: thresholds on {as_of.isoformat()} must satisfy "
                    f"1 <= level1 <= level2, got {t1!r} and {t2!r}",
                )
        for ind in self.indicators.values():
            for window in (ind.window, ind.period):
                if window is not None and isinstance(window.amount, str):
                    amount = values[window.amount]
                    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                        raise ConfigError(
                            ind.origin.file,
                            ind.origin.line,
                            f"indicator {ind.id!r}: window parameter {window.amount!r} must be a "
                            f"positive whole number on {as_of.isoformat()}, got {amount!r}",
                        )
        return values

    def canonical(self) -> dict[str, Any]:
        """The rule set's meaning as plain JSON-able data, without origins."""
        return {
            "municipality": self.municipality_code,
            "parameters": {
                pid: {
                    "label": p.label,
                    "unit": p.unit,
                    "values": [
                        {"from": v.start.isoformat(), "value": v.value, "reference": v.reference} for v in p.values
                    ],
                }
                for pid, p in sorted(self.parameters.items())
            },
            "indicators": {iid: _indicator_json(i) for iid, i in sorted(self.indicators.items())},
            "judgements": [
                {
                    "domain": j.domain,
                    "label": j.label,
                    "reference": j.reference,
                    "thresholds": {"level1": j.level1, "level2": j.level2},
                    "items": [_item_json(item) for item in j.items],
                }
                for j in self.judgements
            ],
            "hard_rules": [_condition_json(c) for c in self.hard_rules],
            "known_to_support": [_condition_json(c) for c in self.known_to_support],
            "combination": {
                "reference": self.combination.reference,
                "tiers": [{"tier": t.tier, "when": t.when.source} for t in self.combination.tiers],
            },
            "settings": {
                "stigma_guard": self.settings.stigma_guard,
                "list_share": self.settings.list_share,
                "reference": self.settings.reference,
            },
            "disabled": [{"id": d.id, "reason": d.reason} for d in self.disabled],
        }

    @cached_property
    def hash(self) -> str:
        """sha256 of the canonical JSON (sorted keys, no whitespace, UTF-8)."""
        text = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def resolved(self, as_of: dt.date) -> dict[str, Any]:
        """The rule set as in force on ``as_of``, with every element's origin, for display."""
        parameters: dict[str, Any] = {}
        for pid, p in sorted(self.parameters.items()):
            current = p.at(as_of)
            parameters[pid] = {
                "label": p.label,
                "unit": p.unit,
                "value": current.value,
                "from": current.start.isoformat(),
                "reference": current.reference,
                "origin": str(current.origin),
                "history": [
                    {"from": v.start.isoformat(), "value": v.value, "reference": v.reference, "origin": str(v.origin)}
                    for v in p.values
                ],
            }
        self.parameters_at(as_of)  # threshold and window checks for this date
        canonical = self.canonical()
        for entry, ind in zip(canonical["indicators"].values(), sorted(self.indicators.items()), strict=True):
            entry["origin"] = str(ind[1].origin)
        for entry, judgement in zip(canonical["judgements"], self.judgements, strict=True):
            entry["domain_label"] = DOMAINS[judgement.domain]
            entry["origin"] = str(judgement.origin)
            for item_entry, item in zip(entry["items"], judgement.items, strict=True):
                item_entry["origin"] = str(item.origin)
        for key, conditions in (("hard_rules", self.hard_rules), ("known_to_support", self.known_to_support)):
            for entry, cond in zip(canonical[key], conditions, strict=True):
                entry["origin"] = str(cond.origin)
        for entry, tier in zip(canonical["combination"]["tiers"], self.combination.tiers, strict=True):
            entry["origin"] = str(tier.when.origin)
        canonical["combination"]["origin"] = str(self.combination.origin)
        canonical["settings"]["origin"] = str(self.settings.origin)
        for entry, disabled in zip(canonical["disabled"], self.disabled, strict=True):
            entry["origin"] = str(disabled.origin)
        canonical["parameters"] = parameters
        return {
            "as_of": as_of.isoformat(),
            "municipality": self.municipality_code,
            "municipality_name": self.municipality_name,
            "rule_set_hash": self.hash,
            "files": list(self.files),
            **{k: v for k, v in canonical.items() if k != "municipality"},
        }


def _window_json(window: Window | None) -> dict[str, Any] | None:
    return None if window is None else {"unit": window.unit, "amount": window.amount}


def _indicator_json(ind: IndicatorDef) -> dict[str, Any]:
    return {
        "label": ind.label,
        "kind": ind.kind,
        "item": ind.item,
        "value": ind.column.value if ind.column else None,
        "window": _window_json(ind.window),
        "where": ind.where.source if ind.where else None,
        "period": _window_json(ind.period),
        "tolerance_days": ind.tolerance_days if ind.kind == "change" else None,
    }


def _item_json(item: ScoredItemDef) -> dict[str, Any]:
    return {
        "id": item.id,
        "label": item.label,
        "score": item.score.source,
        "reference": item.reference,
        "benefit": item.benefit,
        "maltreatment_record": item.maltreatment_record,
        "evidence": list(item.evidence),
    }


def _condition_json(cond: ConditionDef) -> dict[str, Any]:
    return {
        "id": cond.id,
        "label": cond.label,
        "when": cond.when.source,
        "reference": cond.reference,
        "evidence": list(cond.evidence),
    }
