"""The YAML schema of rule files, as strict pydantic models.

Only shape is checked here (unknown keys, types, required references). Cross-references —
item ids, indicator and parameter names inside expressions, duplicate ids across files — need
the whole rule set and are checked by the loader, which knows each element's file and line.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

DOMAINS: dict[str, str] = {
    "poverty": "生活困窮",
    "learning": "学力",
    "noncognitive": "非認知・生活",
    "health": "健康",
    "abuse_risk": "虐待リスク",
    "school_refusal": "不登校",
    "young_carer": "ヤングケアラー",
    "maternal_child_health": "母子保健",
}
# Highest first; the order matters for the stigma guard, which caps a tier at 見守り.
TIERS: tuple[str, ...] = ("重点支援", "予防的支援", "見守り", "対象外")
NO_TIER = "対象外"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
ParamRef = Annotated[str, StringConstraints(pattern=r"^param\.[a-z][a-z0-9_]*$")]
Domain = Literal[
    "poverty",
    "learning",
    "noncognitive",
    "health",
    "abuse_risk",
    "school_refusal",
    "young_carer",
    "maternal_child_health",
]
Tier = Literal["重点支援", "予防的支援", "見守り"]
Scalar = bool | int | float | str
PositiveOrParam = Annotated[int, Field(gt=0)] | ParamRef


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DatedValue(Strict):
    start: dt.date = Field(alias="from")
    value: Scalar


class Parameter(Strict):
    id: Ident
    label: Text
    reference: Text
    unit: str | None = None
    values: list[DatedValue] = Field(min_length=1)


class ParameterChange(Strict):
    """A municipality's dated values for an existing parameter (or a new one, with a label)."""

    id: Ident
    label: Text | None = None
    reference: Text
    unit: str | None = None
    values: list[DatedValue] = Field(min_length=1)


IndicatorKind = Literal["latest", "count", "sum", "max", "change", "streak", "age_years", "grade", "exists"]


class Indicator(Strict):
    id: Ident
    label: Text
    kind: IndicatorKind
    item: Ident | None = None
    value: Literal["number", "text", "bool"] | None = None
    window_days: PositiveOrParam | None = None
    window_months: PositiveOrParam | None = None
    where: Text | None = None
    period_days: Annotated[int, Field(gt=0)] | None = None
    period_months: Annotated[int, Field(gt=0)] | None = None
    tolerance_days: Annotated[int, Field(ge=0)] | None = None


class ScoredItem(Strict):
    id: Ident
    label: Text
    score: Text
    reference: Text
    benefit: bool = False
    # A record of maltreatment or of protective involvement (通告, 要対協, 児童相談所, 一時保護): the list
    # places such a child first inside its tier, before domain counts and points (docs/rules.md 掲載枠).
    maltreatment_record: StrictBool = False
    evidence: list[Ident] | None = None


class Thresholds(Strict):
    level1: Ident
    level2: Ident


class Judgement(Strict):
    domain: Domain
    label: Text
    reference: Text
    thresholds: Thresholds
    items: list[ScoredItem] = Field(min_length=1)


class ItemAddition(ScoredItem):
    domain: Domain


class Condition(Strict):
    """A hard rule or a known-to-support rule: a Boolean expression with its reason."""

    id: Ident
    label: Text
    when: Text
    reference: Text
    evidence: list[Ident] | None = None


class TierRule(Strict):
    tier: Tier
    when: Text


class Combination(Strict):
    reference: Text
    tiers: list[TierRule] = Field(min_length=1)


class Settings(Strict):
    stigma_guard: bool
    # 掲載枠: the share of children the second stage can review. Tiers fill it in order of evidence
    # (docs/rules.md "掲載枠"); children beyond it keep their tier and are counted, never hidden.
    list_share: float = Field(default=0.15, gt=0, le=1)
    reference: Text


class RuleFile(Strict):
    """One file of the national baseline; a baseline may be split over several files."""

    title: str | None = None
    parameters: list[Parameter] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    judgements: list[Judgement] = Field(default_factory=list)
    hard_rules: list[Condition] = Field(default_factory=list)
    known_to_support: list[Condition] = Field(default_factory=list)
    combination: Combination | None = None
    settings: Settings | None = None


class Municipality(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
    name: Text


class Disable(Strict):
    id: Ident
    reason: Text


class OverrideFile(Strict):
    """One file of a municipality's changes to the baseline."""

    municipality: Municipality
    title: str | None = None
    parameters: list[ParameterChange] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    items: list[ItemAddition] = Field(default_factory=list)
    hard_rules: list[Condition] = Field(default_factory=list)
    known_to_support: list[Condition] = Field(default_factory=list)
    disable: list[Disable] = Field(default_factory=list)
    combination: Combination | None = None
    settings: Settings | None = None
