"""The access-policy file: roles, purposes, relationships, actions and allow rules.

The policy is data (``policy.yaml`` in this package) so that the privacy officer can read it and a
municipality can review it; this module only states its shape and refuses a file that breaks the
two invariants every policy must keep (see the file's header). Errors name the file and line.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tsunagu.catalog import Catalog
from tsunagu.yamlstrict import ConfigError, line_of, read_yaml, validation_error

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
ActionName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]
RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")]
Label = Annotated[str, Field(min_length=1)]
Sensitivity = Annotated[int, Field(ge=1, le=3)]


class ActionKind(StrEnum):
    CHILD_RECORD = "child_record"
    CHILD_LIST = "child_list"
    IDENTITY = "identity"
    AUDIT = "audit"
    SYSTEM = "system"
    AGGREGATE = "aggregate"

    @property
    def touches_children(self) -> bool:
        """Relationship, sensitivity and holder matter only when a child's data is touched."""
        return self in (ActionKind.CHILD_RECORD, ActionKind.CHILD_LIST, ActionKind.IDENTITY)

    @property
    def is_child_detail(self) -> bool:
        return self in (ActionKind.CHILD_RECORD, ActionKind.CHILD_LIST)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleSpec(_Strict):
    label: Label
    confidentiality_duty: bool
    duty_basis: Label
    child_detail: bool
    break_glass: bool = False


class RelationshipSpec(_Strict):
    label: Label
    description: str = ""


class ActionSpec(_Strict):
    label: Label
    kind: ActionKind
    break_glass: bool = False


class RuleSpec(_Strict):
    id: RuleId
    label: Label
    roles: Annotated[tuple[Identifier, ...], Field(min_length=1)]
    actions: Annotated[tuple[ActionName, ...], Field(min_length=1)]
    purposes: Annotated[tuple[Identifier, ...], Field(min_length=1)]
    relationships: tuple[Identifier, ...] | None = None
    holders: tuple[Identifier, ...] | None = None
    max_sensitivity: Sensitivity = 3
    valid_from: date | None = None
    valid_until: date | None = None

    @model_validator(mode="after")
    def _dates(self) -> RuleSpec:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self

    def in_effect(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class PolicyFile(_Strict):
    roles: dict[Identifier, RoleSpec]
    relationships: dict[Identifier, RelationshipSpec]
    actions: dict[ActionName, ActionSpec]
    rules: list[RuleSpec]


def packaged_policy_path() -> Path:
    return Path(str(resources.files("tsunagu.privacy") / "policy.yaml"))


def _check_rule(spec: PolicyFile, rule: RuleSpec, catalog: Catalog) -> str | None:
    """The first cross-reference or invariant the rule breaks, as a message, or None."""
    for field, names, known in (
        ("roles", rule.roles, spec.roles),
        ("actions", rule.actions, spec.actions),
        ("purposes", rule.purposes, catalog.purposes),  # the catalogue's purposes (catalog/data/purposes.yaml)
        ("relationships", rule.relationships or (), spec.relationships),
    ):
        unknown = [n for n in names if n not in known]
        if unknown:
            return f"rule {rule.id!r}: unknown {field[:-1]} {unknown[0]!r} (known: {', '.join(known)})"
    unknown_holders = [h for h in rule.holders or () if h not in catalog.departments]
    if unknown_holders:
        return f"rule {rule.id!r}: unknown holder {unknown_holders[0]!r} (not a catalogue department)"
    touching = [a for a in rule.actions if spec.actions[a].kind.touches_children]
    for role_name in rule.roles:
        role = spec.roles[role_name]
        detail = [a for a in rule.actions if spec.actions[a].kind.is_child_detail]
        if detail and not role.child_detail:
            return (
                f"rule {rule.id!r}: role {role_name!r} has child_detail: false and may not be granted "
                f"{detail[0]!r}"
            )
        if touching and rule.max_sensitivity == 3 and not role.confidentiality_duty:
            return (
                f"rule {rule.id!r}: role {role_name!r} has no statutory confidentiality duty, so the "
                "rule needs max_sensitivity: 2 or lower (sensitivity 3 is for duty-bound roles only)"
            )
    return None


def load_policy_file(path: Path, catalog: Catalog, text: str | None = None) -> PolicyFile:
    """Load and cross-check a policy file; any mistake is a ConfigError with its line."""
    data, node = read_yaml(path, text)
    if data is None:
        raise ConfigError(path, None, "file is empty")
    try:
        spec = PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, node, exc) from exc
    for name, action in spec.actions.items():
        if action.break_glass and action.kind is not ActionKind.CHILD_RECORD:
            raise ConfigError(path, line_of(node, ("actions", name)),
                              f"action {name!r}: break_glass is only for child_record actions")
    seen: set[str] = set()
    for index, rule in enumerate(spec.rules):
        line = line_of(node, ("rules", index))
        if rule.id in seen:
            raise ConfigError(path, line, f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        problem = _check_rule(spec, rule, catalog)
        if problem:
            raise ConfigError(path, line, problem)
    return spec
