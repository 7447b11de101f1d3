"""Load the national baseline and a municipality's overrides into one resolved RuleSet.

Merge semantics (documented for policy staff in docs/rules.md):
- parameters: an override's dated values are added to the baseline's; on the same start date
  the override wins. A parameter the baseline lacks is new and needs a label.
- indicators, scored items, hard rules, known-to-support rules: an override adds new ids only;
  to change a rule, disable it (with a reason) and add one under a new id, so that the change
  is visible rather than silent.
- combination and settings: an override replaces them as a whole, with its own reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tsunagu.screen import checks
from tsunagu.screen.expr import Type
from tsunagu.screen.items import known_item_ids, known_item_value_types
from tsunagu.screen.model import (
    Combination,
    Condition,
    Indicator,
    Judgement,
    OverrideFile,
    Parameter,
    ParameterChange,
    RuleFile,
    ScoredItem,
    Settings,
)
from tsunagu.screen.ruleset import (
    CombinationDef,
    ConditionDef,
    DatedParam,
    DisabledDef,
    IndicatorDef,
    JudgementDef,
    Origin,
    ParameterDef,
    RuleSet,
    ScoredItemDef,
    SettingsDef,
    TierRuleDef,
)
from tsunagu.yamlstrict import ConfigError, line_of, read_yaml, validation_error

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class Place:
    """A file being loaded: where errors point and how origins are written."""

    path: Path
    node: yaml.Node | None
    display: str

    def origin(self, loc: Loc) -> Origin:
        return Origin(self.display, line_of(self.node, loc))

    def error(self, loc: Loc, message: str) -> ConfigError:
        return ConfigError(self.path, line_of(self.node, loc), message)


def _read(path: Path, base_dir: Path, model: type[BaseModel]) -> tuple[Any, Place]:
    data, node = read_yaml(path)
    display = f"{base_dir.name}/{path.relative_to(base_dir).as_posix()}"
    place = Place(path, node, display)
    if data is None:
        raise ConfigError(path, None, "file is empty")
    try:
        return model.model_validate(data), place
    except ValidationError as exc:
        raise validation_error(path, node, exc) from exc


class _Builder:
    """Collects elements from every file with their places, then hands them to ``checks``."""

    def __init__(self) -> None:
        self.parameters: dict[str, tuple[ParameterDef, Place, Loc]] = {}
        self.indicators: dict[str, tuple[Indicator, Place, Loc]] = {}
        self.judgements: dict[str, tuple[Judgement, Place, Loc]] = {}
        self.items: dict[str, list[tuple[ScoredItem, Place, Loc]]] = {}
        self.hard_rules: list[tuple[Condition, Place, Loc]] = []
        self.known: list[tuple[Condition, Place, Loc]] = []
        self.combination: tuple[Combination, Place, Loc] | None = None
        self.settings: tuple[Settings, Place, Loc] | None = None
        self.disabled: list[DisabledDef] = []
        self.rule_places: dict[str, Origin] = {}

    def claim_rule_id(self, rule_id: str, place: Place, loc: Loc) -> None:
        if rule_id in self.rule_places:
            raise place.error(loc, f"rule id {rule_id!r} is already defined at {self.rule_places[rule_id]}")
        self.rule_places[rule_id] = place.origin(loc)

    def add_parameter(self, param: Parameter | ParameterChange, place: Place, loc: Loc) -> None:
        dated = {
            v.start: DatedParam(v.start, v.value, param.reference, place.origin((*loc, "values", i, "from")))
            for i, v in enumerate(param.values)
        }
        if len(dated) != len(param.values):
            raise place.error((*loc, "values"), f"parameter {param.id!r} lists the same 'from' date twice")
        existing = self.parameters.get(param.id)
        if existing is not None and isinstance(param, Parameter):
            raise place.error((*loc, "id"), f"parameter {param.id!r} is already defined at {existing[0].origin}")
        if existing is None:
            if param.label is None:
                raise place.error(
                    (*loc, "id"), f"parameter {param.id!r} is not in the baseline; a new one needs a label"
                )
            values = dated
            label, unit, origin = param.label, param.unit, place.origin(loc)
        else:
            base = existing[0]
            values = {v.start: v for v in base.values} | dated
            label, unit, origin = base.label, base.unit, base.origin
        ordered = tuple(values[k] for k in sorted(values))
        ptype = checks.parameter_type(param.id, ordered, place, (*loc, "values"))
        if existing is not None and ptype != existing[0].type:
            raise place.error(
                (*loc, "values"),
                f"parameter {param.id!r} is {existing[0].type.value} in the baseline, not {ptype.value}",
            )
        self.parameters[param.id] = (ParameterDef(param.id, label, unit, ptype, ordered, origin), place, loc)

    def add_indicator(self, ind: Indicator, place: Place, loc: Loc) -> None:
        if ind.id in self.indicators:
            other = self.indicators[ind.id]
            raise place.error((*loc, "id"), f"indicator {ind.id!r} is already defined at {other[1].origin(other[2])}")
        self.indicators[ind.id] = (ind, place, loc)

    def add_item(self, domain: str, item: ScoredItem, place: Place, loc: Loc) -> None:
        self.claim_rule_id(item.id, place, (*loc, "id"))
        self.items.setdefault(domain, []).append((item, place, loc))

    def add_file(self, rules: RuleFile, place: Place) -> None:
        for i, param in enumerate(rules.parameters):
            self.add_parameter(param, place, ("parameters", i))
        for i, ind in enumerate(rules.indicators):
            self.add_indicator(ind, place, ("indicators", i))
        for i, judgement in enumerate(rules.judgements):
            if judgement.domain in self.judgements:
                other = self.judgements[judgement.domain]
                raise place.error(
                    ("judgements", i, "domain"),
                    f"domain {judgement.domain!r} is already judged at {other[1].origin(other[2])}",
                )
            self.judgements[judgement.domain] = (judgement, place, ("judgements", i))
            for k, item in enumerate(judgement.items):
                self.add_item(judgement.domain, item, place, ("judgements", i, "items", k))
        self._add_conditions(rules.hard_rules, rules.known_to_support, place)
        for key, value in (("combination", rules.combination), ("settings", rules.settings)):
            if value is None:
                continue
            current = getattr(self, key)
            if current is not None:
                raise place.error((key,), f"{key} is already defined at {current[1].origin(current[2])}")
            setattr(self, key, (value, place, (key,)))

    def _add_conditions(self, hard: list[Condition], known: list[Condition], place: Place) -> None:
        for key, conditions, target in (("hard_rules", hard, self.hard_rules), ("known_to_support", known, self.known)):
            for i, cond in enumerate(conditions):
                self.claim_rule_id(cond.id, place, (key, i, "id"))
                target.append((cond, place, (key, i)))

    def add_override(self, change: OverrideFile, place: Place, code: str) -> None:
        if change.municipality.code != code:
            raise place.error(
                ("municipality", "code"), f"file is for municipality {change.municipality.code}, not {code}"
            )
        for i, param in enumerate(change.parameters):
            self.add_parameter(param, place, ("parameters", i))
        for i, ind in enumerate(change.indicators):
            self.add_indicator(ind, place, ("indicators", i))
        for i, addition in enumerate(change.items):
            if addition.domain not in self.judgements:
                raise place.error(
                    ("items", i, "domain"), f"domain {addition.domain!r} has no judgement in the baseline"
                )
            item = ScoredItem.model_validate(addition.model_dump(exclude={"domain"}))
            self.add_item(addition.domain, item, place, ("items", i))
        self._add_conditions(change.hard_rules, change.known_to_support, place)
        for key, value in (("combination", change.combination), ("settings", change.settings)):
            if value is not None:
                setattr(self, key, (value, place, (key,)))
        for i, disable in enumerate(change.disable):
            self._disable(disable.id, disable.reason, place, ("disable", i))

    def _disable(self, rule_id: str, reason: str, place: Place, loc: Loc) -> None:
        before = (sum(len(v) for v in self.items.values()), len(self.hard_rules), len(self.known))
        for domain, entries in self.items.items():
            self.items[domain] = [e for e in entries if e[0].id != rule_id]
        self.hard_rules = [e for e in self.hard_rules if e[0].id != rule_id]
        self.known = [e for e in self.known if e[0].id != rule_id]
        after = (sum(len(v) for v in self.items.values()), len(self.hard_rules), len(self.known))
        if before == after:
            raise place.error(
                (*loc, "id"),
                f"cannot disable {rule_id!r}: no scored item, hard rule or known-to-support rule has that id",
            )
        self.disabled.append(DisabledDef(rule_id, reason, place.origin(loc)))

    def build(self, code: str | None, name: str | None, files: list[str], items: Mapping[str, str]) -> RuleSet:
        if self.combination is None:
            raise ConfigError(files[0] if files else "rules", None, "the rule set has no 'combination' section")
        if self.settings is None:
            raise ConfigError(files[0] if files else "rules", None, "the rule set has no 'settings' section")
        params = {pid: entry[0] for pid, entry in self.parameters.items()}
        param_env = {f"param.{pid}": p.type for pid, p in params.items()}
        indicators: dict[str, IndicatorDef] = {}
        for ind, place, loc in self.indicators.values():
            indicators[ind.id] = checks.indicator(ind, place, loc, items, param_env)
        env: dict[str, Type] = {**param_env, **{i.id: i.value_type for i in indicators.values()}}
        judgements = []
        for domain, (judgement, place, loc) in self.judgements.items():
            for key in ("level1", "level2"):
                checks.number_parameter(getattr(judgement.thresholds, key), params, place, (*loc, "thresholds", key))
            for item, iplace, iloc in self.items.get(domain, []):
                if item.benefit and item.maltreatment_record:
                    # A benefit is not a record of harm: marking it would move benefit users up the list.
                    raise iplace.error((*iloc, "maltreatment_record"),
                                       f"item {item.id!r} is marked benefit; it cannot be a maltreatment_record")
            scored = tuple(
                ScoredItemDef(
                    item.id,
                    domain,
                    item.label,
                    checks.expression(item.score, iplace, (*iloc, "score"), env, Type.NUM, score=True),
                    item.reference,
                    item.benefit,
                    item.maltreatment_record,
                    checks.evidence(item.evidence, item.score, indicators, iplace, iloc),
                    iplace.origin(iloc),
                )
                for item, iplace, iloc in self.items.get(domain, [])
            )
            judgements.append(
                JudgementDef(
                    domain,
                    judgement.label,
                    judgement.reference,
                    judgement.thresholds.level1,
                    judgement.thresholds.level2,
                    scored,
                    place.origin(loc),
                )
            )
        combination, cplace, cloc = self.combination
        combo_env = {**param_env, **checks.COMBINATION_NAMES, **{f"level.{d}": Type.NUM for d in self.judgements}}
        tiers = tuple(
            TierRuleDef(
                rule.tier,
                checks.expression(
                    rule.when,
                    cplace,
                    (*cloc, "tiers", i, "when"),
                    combo_env,
                    Type.BOOL,
                    namespaces=frozenset({"param", "level"}),
                ),
            )
            for i, rule in enumerate(combination.tiers)
        )
        settings, splace, sloc = self.settings
        return RuleSet(
            municipality_code=code,
            municipality_name=name,
            parameters=params,
            indicators=indicators,
            judgements=tuple(judgements),
            hard_rules=tuple(self._conditions(self.hard_rules, env, indicators)),
            known_to_support=tuple(self._conditions(self.known, env, indicators)),
            combination=CombinationDef(combination.reference, tiers, cplace.origin(cloc)),
            settings=SettingsDef(settings.stigma_guard, settings.reference, splace.origin(sloc), settings.list_share),
            disabled=tuple(self.disabled),
            files=tuple(files),
        )

    @staticmethod
    def _conditions(
        entries: list[tuple[Condition, Place, Loc]], env: dict[str, Type], indicators: dict[str, IndicatorDef]
    ) -> list[ConditionDef]:
        return [
            ConditionDef(
                cond.id,
                cond.label,
                checks.expression(cond.when, place, (*loc, "when"), env, Type.BOOL),
                cond.reference,
                checks.evidence(cond.evidence, cond.when, indicators, place, loc),
                place.origin(loc),
            )
            for cond, place, loc in entries
        ]


def load_rule_set(
    base_dir: Path,
    municipality_code: str | None,
    *,
    item_ids: frozenset[str] | None = None,
    item_types: Mapping[str, str] | None = None,
) -> RuleSet:
    """Load ``base_dir``/baseline/*.yaml and, if given, ``base_dir``/municipalities/<code>/*.yaml.

    ``item_ids`` is the set of catalogue items rules may reference (default: the catalogue);
    ``item_types`` maps item ids to catalogue value types, used to pick the value column of an
    indicator that does not state ``value:``.
    """
    base_dir = Path(base_dir)
    types = dict(item_types) if item_types is not None else known_item_value_types()
    ids = item_ids if item_ids is not None else known_item_ids()
    items = {item_id: types.get(item_id, "") for item_id in ids}
    baseline = sorted((base_dir / "baseline").glob("*.yaml"))
    if not baseline:
        raise ConfigError(base_dir / "baseline", None, "no baseline rule files (*.yaml) found")
    builder = _Builder()
    files: list[str] = []
    for path in baseline:
        rules, place = _read(path, base_dir, RuleFile)
        builder.add_file(rules, place)
        files.append(place.display)
    name: str | None = None
    if municipality_code is not None:
        if not (len(municipality_code) == 6 and municipality_code.isdigit()):
            raise ValueError(f"municipality code must be 6 digits, got {municipality_code!r}")
        for path in sorted((base_dir / "municipalities" / municipality_code).glob("*.yaml")):
            change, place = _read(path, base_dir, OverrideFile)
            builder.add_override(change, place, municipality_code)
            name = change.municipality.name
            files.append(place.display)
    return builder.build(municipality_code, name, files, items)
