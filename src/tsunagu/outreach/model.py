"""The YAML schema of programme files (制度の対象要件), as strict pydantic models.

Parameters and indicators have the screening rules' shape (``tsunagu.screen.model``); a programme
adds who is considered, the conditions that must all hold, the grounds of which one suffices, and
what shows that the family already receives or uses it. Cross-references are checked by the loader.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tsunagu.screen.model import Disable, Ident, Indicator, Municipality, ParameterChange, Strict, Text

Kind = Literal["benefit", "service", "recommendation"]


class ConditionSpec(Strict):
    id: Ident
    label: Text
    when: Text
    # What staff of the running department read when the condition rests on another department's
    # sensitive item: the fact that it held, never the value (default: a neutral sentence).
    shown_as: Text | None = None


class ReceivingSpec(Strict):
    label: Text
    when: Text


class ProgrammeSpec(Strict):
    id: Ident
    label: Text
    kind: Kind
    department: Ident  # the catalogue department that runs the programme
    purpose: Ident = "outreach"
    reference: Text  # legal basis of the programme
    population: Text  # who is considered at all (Boolean expression)
    population_label: Text
    conditions: list[ConditionSpec] = Field(default_factory=list)  # all must hold
    any_of: list[ConditionSpec] = Field(default_factory=list)  # at least one must hold
    receiving: ReceivingSpec | None = None  # None: no department's data records receipt
    notify_without_receipt: bool = False  # a general 案内 is harmless even to users
    outcome_window_days: Annotated[int, Field(gt=0, le=730)] = 120


class ProgrammeFile(Strict):
    """A file of the national baseline (no ``municipality``) or of a municipality's overrides."""

    municipality: Municipality | None = None
    title: str | None = None
    parameters: list[ParameterChange] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    programmes: list[ProgrammeSpec] = Field(default_factory=list)
    disable: list[Disable] = Field(default_factory=list)
