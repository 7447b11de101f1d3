"""Load programme definitions: the national baseline and a municipality's own programmes and values.

Files: ``rules/baseline/outreach/*.yaml`` and ``rules/municipalities/<code>/outreach/*.yaml``, in
name order. Merge semantics follow the screening rules (docs/rules.md): dated parameter values are
added (the override wins on the same date), indicators and programmes are new ids only, and a
programme is withdrawn with ``disable: [{id, reason}]`` so that the change stays visible. Every
error is a ConfigError naming the file and line; expressions are the screening rule language.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from tsunagu.catalog import Catalog, default_catalog
from tsunagu.outreach.model import ConditionSpec, ProgrammeFile, ProgrammeSpec, ReceivingSpec
from tsunagu.screen import checks
from tsunagu.screen.expr import Type, refs
from tsunagu.screen.items import known_item_value_types
from tsunagu.screen.loader import Loc, Place, _Builder, _read
from tsunagu.screen.ruleset import DisabledDef, Expression, IndicatorDef, Origin, ParameterDef, Scalar
from tsunagu.yamlstrict import ConfigError

# Items the hub derives from the register's households (tsunagu.outreach.inputs), beside the catalogue's.
DERIVED_ITEMS = {"household_size": "int", "household_children": "int", "single_parent_household": "bool"}
DEFAULT_SHOWN_AS = "他の部署が保有する情報により要件を満たしています（内容は表示しません）"


@dataclass(frozen=True)
class ConditionDef:
    id: str
    label: str
    when: Expression
    shown_as: str | None
    items: tuple[str, ...]  # data items the condition reads
    origin: Origin


@dataclass(frozen=True)
class ProgrammeDef:
    id: str
    label: str
    kind: str
    department: str
    purpose: str
    reference: str
    population: Expression
    population_label: str
    conditions: tuple[ConditionDef, ...]
    any_of: tuple[ConditionDef, ...]
    receiving: ConditionDef | None
    notify_without_receipt: bool
    outcome_window_days: int
    origin: Origin

    @property
    def all_conditions(self) -> tuple[ConditionDef, ...]:
        return self.conditions + self.any_of


@dataclass(frozen=True)
class ProgrammeSet:
    municipality_code: str | None
    parameters: dict[str, ParameterDef]
    indicators: dict[str, IndicatorDef]
    programmes: dict[str, ProgrammeDef]
    disabled: tuple[DisabledDef, ...]
    files: tuple[str, ...]

    def parameters_at(self, as_of: dt.date) -> dict[str, Scalar]:
        return {pid: p.at(as_of).value for pid, p in self.parameters.items()}

    @cached_property
    def used_indicators(self) -> tuple[IndicatorDef, ...]:
        names: set[str] = set()
        for prog in self.programmes.values():
            exprs = [prog.population, *(c.when for c in prog.all_conditions)]
            if prog.receiving is not None:
                exprs.append(prog.receiving.when)
            names.update(r.name for e in exprs for r in refs(e.node) if r.namespace is None)
        return tuple(ind for iid, ind in self.indicators.items() if iid in names)

    @property
    def item_ids(self) -> frozenset[str]:
        return frozenset(i.item for i in self.used_indicators if i.item is not None)

    def canonical(self) -> dict[str, Any]:
        def cond(c: ConditionDef) -> dict[str, Any]:
            return {"id": c.id, "label": c.label, "when": c.when.source, "shown_as": c.shown_as}

        return {
            "municipality": self.municipality_code,
            "parameters": {pid: [{"from": v.start.isoformat(), "value": v.value, "reference": v.reference}
                                 for v in p.values] for pid, p in sorted(self.parameters.items())},
            "indicators": {iid: {"kind": i.kind, "item": i.item, "window": None if i.window is None else
                                 [i.window.unit, i.window.amount], "where": i.where.source if i.where else None}
                           for iid, i in sorted(self.indicators.items())},
            "programmes": {pid: {"label": p.label, "kind": p.kind, "department": p.department, "purpose": p.purpose,
                                 "reference": p.reference, "population": p.population.source,
                                 "conditions": [cond(c) for c in p.conditions], "any_of": [cond(c) for c in p.any_of],
                                 "receiving": cond(p.receiving) if p.receiving else None,
                                 "notify_without_receipt": p.notify_without_receipt,
                                 "outcome_window_days": p.outcome_window_days}
                           for pid, p in sorted(self.programmes.items())},
            "disabled": [{"id": d.id, "reason": d.reason} for d in self.disabled],
        }

    @cached_property
    def hash(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def resolved(self, as_of: dt.date) -> dict[str, Any]:
        """The programmes in force on ``as_of``: parameter values with reference and origin."""
        out = self.canonical()
        out["parameters"] = {pid: {"label": p.label, "value": p.at(as_of).value, "from": p.at(as_of).start.isoformat(),
                                   "reference": p.at(as_of).reference, "origin": str(p.at(as_of).origin)}
                             for pid, p in sorted(self.parameters.items())}
        for pid, prog in self.programmes.items():
            out["programmes"][pid]["origin"] = str(prog.origin)
        return {"as_of": as_of.isoformat(), "hash": self.hash, "files": list(self.files), **out}


class _ProgrammeBuilder(_Builder):
    def __init__(self, catalog: Catalog, purposes: frozenset[str]) -> None:
        super().__init__()
        self.catalog = catalog
        self.purposes = purposes
        self.programmes: dict[str, tuple[ProgrammeSpec, Place, Loc]] = {}
        self.withdrawn: list[DisabledDef] = []

    def add(self, spec: ProgrammeFile, place: Place, code: str | None) -> None:
        if spec.municipality is not None and spec.municipality.code != code:
            raise place.error(("municipality", "code"), f"file is for municipality {spec.municipality.code}, not {code}")
        for i, param in enumerate(spec.parameters):
            self.add_parameter(param, place, ("parameters", i))
        for i, ind in enumerate(spec.indicators):
            self.add_indicator(ind, place, ("indicators", i))
        for i, prog in enumerate(spec.programmes):
            loc: Loc = ("programmes", i)
            if prog.id in self.programmes:
                other = self.programmes[prog.id]
                raise place.error((*loc, "id"), f"programme {prog.id!r} is already defined at {other[1].origin(other[2])}")
            if prog.department not in self.catalog.departments:
                raise place.error((*loc, "department"), f"unknown department {prog.department!r}")
            if prog.purpose not in self.purposes:
                raise place.error((*loc, "purpose"), f"purpose {prog.purpose!r} is not registered in the catalogue's purposes")
            self.programmes[prog.id] = (prog, place, loc)
        for i, off in enumerate(spec.disable):
            if off.id not in self.programmes:
                raise place.error(("disable", i, "id"), f"cannot disable {off.id!r}: no programme has that id")
            del self.programmes[off.id]
            self.withdrawn.append(DisabledDef(off.id, off.reason, place.origin(("disable", i))))

    def finish(self, code: str | None, files: list[str], items: Mapping[str, str]) -> ProgrammeSet:
        params = {pid: entry[0] for pid, entry in self.parameters.items()}
        param_env = {f"param.{pid}": p.type for pid, p in params.items()}
        indicators = {ind.id: checks.indicator(ind, place, loc, items, param_env)
                      for ind, place, loc in self.indicators.values()}
        env: dict[str, Type] = {**param_env, **{i.id: i.value_type for i in indicators.values()}}
        programmes = {pid: self._programme(spec, place, loc, env, indicators)
                      for pid, (spec, place, loc) in self.programmes.items()}
        return ProgrammeSet(code, params, indicators, programmes, tuple(self.withdrawn), tuple(files))

    def _condition(self, spec: ConditionSpec | ReceivingSpec, cid: str, place: Place, loc: Loc,
                   env: Mapping[str, Type], indicators: Mapping[str, IndicatorDef]) -> ConditionDef:
        expr = checks.expression(spec.when, place, (*loc, "when"), env, Type.BOOL)
        names = {r.name for r in refs(expr.node) if r.namespace is None}
        items = tuple(sorted({i.item for n in names if (i := indicators.get(n)) is not None and i.item}))
        shown = spec.shown_as if isinstance(spec, ConditionSpec) else None
        return ConditionDef(cid, spec.label, expr, shown, items, place.origin(loc))

    def _programme(self, spec: ProgrammeSpec, place: Place, loc: Loc, env: Mapping[str, Type],
                   indicators: Mapping[str, IndicatorDef]) -> ProgrammeDef:
        ids = [c.id for c in (*spec.conditions, *spec.any_of)]
        if len(ids) != len(set(ids)):
            raise place.error(loc, f"programme {spec.id!r} repeats a condition id")
        if not spec.conditions and not spec.any_of:
            raise place.error(loc, f"programme {spec.id!r} has no condition")
        population = checks.expression(spec.population, place, (*loc, "population"), env, Type.BOOL)
        conditions = tuple(self._condition(c, c.id, place, (*loc, "conditions", i), env, indicators)
                           for i, c in enumerate(spec.conditions))
        any_of = tuple(self._condition(c, c.id, place, (*loc, "any_of", i), env, indicators)
                       for i, c in enumerate(spec.any_of))
        receiving = (self._condition(spec.receiving, "receiving", place, (*loc, "receiving"), env, indicators)
                     if spec.receiving is not None else None)
        return ProgrammeDef(spec.id, spec.label, spec.kind, spec.department, spec.purpose, spec.reference, population,
                            spec.population_label, conditions, any_of, receiving, spec.notify_without_receipt,
                            spec.outcome_window_days, place.origin(loc))


def load_programmes(base_dir: Path, municipality_code: str | None, *, catalog: Catalog | None = None,
                    purposes: frozenset[str] | None = None) -> ProgrammeSet:
    """Baseline programmes plus the municipality's own (``rules/municipalities/<code>/outreach``)."""
    base_dir = Path(base_dir)
    catalog = catalog or default_catalog()
    purposes = purposes if purposes is not None else frozenset(catalog.purposes)
    baseline = sorted((base_dir / "baseline" / "outreach").glob("*.yaml"))
    if not baseline:
        raise ConfigError(base_dir / "baseline" / "outreach", None, "no programme files (*.yaml) found")
    builder = _ProgrammeBuilder(catalog, purposes)
    files: list[str] = []
    paths = list(baseline)
    if municipality_code is not None:
        paths += sorted((base_dir / "municipalities" / municipality_code / "outreach").glob("*.yaml"))
    for path in paths:
        spec, place = _read(path, base_dir, ProgrammeFile)
        if path in baseline and spec.municipality is not None:
            raise place.error(("municipality",), "a baseline file names no municipality")
        if path not in baseline and spec.municipality is None:
            raise place.error(("programmes",), "a municipality's file starts with municipality: {code, name}")
        builder.add(spec, place, municipality_code)
        files.append(place.display)
    items = {**known_item_value_types(), **DERIVED_ITEMS}
    return builder.finish(municipality_code, files, items)
