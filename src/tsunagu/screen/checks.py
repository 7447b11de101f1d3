"""Semantic checks of rule elements, each failure a ConfigError at the offending line."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from tsunagu.screen.expr import ExprError, Num, Type, parse, refs
from tsunagu.screen.model import Indicator
from tsunagu.screen.ruleset import DatedParam, Expression, IndicatorDef, ParameterDef, Window
from tsunagu.screen.typecheck import check, literal_results

if TYPE_CHECKING:
    from tsunagu.screen.loader import Loc, Place

COMBINATION_NAMES: dict[str, Type] = {
    "n_hard_rules": Type.NUM,  # hard rules that fired
    "n_level2": Type.NUM,  # domains at level 2
    "n_level1": Type.NUM,  # domains at exactly level 1
    "n_flagged": Type.NUM,  # domains at level 1 or 2
}
MAX_SCORE = 2
_CATALOGUE_TYPES = {"int": Type.NUM, "float": Type.NUM, "code": Type.TEXT, "text": Type.TEXT, "bool": Type.BOOL}
_VALUE_NAMES = {"number": Type.NUM, "text": Type.TEXT, "bool": Type.BOOL}
_WHERE_KINDS = frozenset({"count", "sum", "max", "streak", "exists"})
_DEFAULT_TOLERANCE_DAYS = 31


def parameter_type(pid: str, values: Sequence[DatedParam], place: Place, loc: Loc) -> Type:
    """All dated values of a parameter must share one type, or a rule could change type by date."""
    types = {_scalar_type(v.value) for v in values}
    if len(types) != 1:
        kinds = ", ".join(sorted(t.value for t in types))
        raise place.error(loc, f"parameter {pid!r} mixes value types ({kinds})")
    return types.pop()


def _scalar_type(value: object) -> Type:
    if isinstance(value, bool):
        return Type.BOOL
    if isinstance(value, int | float):
        return Type.NUM
    return Type.TEXT


def number_parameter(pid: str, params: Mapping[str, ParameterDef], place: Place, loc: Loc) -> None:
    if pid not in params:
        near = difflib.get_close_matches(pid, list(params), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise place.error(loc, f"unknown parameter {pid!r}{hint}")
    if params[pid].type != Type.NUM:
        raise place.error(loc, f"parameter {pid!r} must be a number")


def expression(
    source: str,
    place: Place,
    loc: Loc,
    env: Mapping[str, Type],
    want: Type,
    *,
    score: bool = False,
    namespaces: frozenset[str] = frozenset({"param"}),
) -> Expression:
    """Parse and type-check one expression; errors name the file, line and column."""
    try:
        node = parse(source, namespaces)
        got = check(node, env)
    except ExprError as exc:
        raise place.error(loc, f"{loc[-1]}: {exc.message} (column {exc.pos + 1} of {source!r})") from exc
    if got != want:
        hint = " (write e.g. 'case when ... then 1 else 0 end')" if score and got == Type.BOOL else ""
        raise place.error(loc, f"{loc[-1]}: must be {want.value}, but {source!r} is {got.value}{hint}")
    if score:
        for lit in literal_results(node):
            if lit is not None and not (
                isinstance(lit, Num) and isinstance(lit.value, int) and 0 <= lit.value <= MAX_SCORE
            ):
                raise place.error(
                    loc,
                    f"score: outcome {getattr(lit, 'value', lit)!r} is not a whole number 0–{MAX_SCORE} (column {lit.pos + 1})",
                )
    return Expression(source, node, place.origin(loc))


def evidence(
    listed: list[str] | None,
    source: str,
    indicators: Mapping[str, IndicatorDef],
    place: Place,
    loc: Loc,
) -> tuple[str, ...]:
    """Which indicators a reason cites: as listed, or every data-item indicator in the expression."""
    if listed is not None:
        for i, name in enumerate(listed):
            if name not in indicators or indicators[name].item is None:
                raise place.error((*loc, "evidence", i), f"evidence {name!r} is not an indicator of a data item")
        return tuple(dict.fromkeys(listed))
    names = [r.name for r in refs(parse(source)) if r.namespace is None]
    return tuple(dict.fromkeys(n for n in names if indicators[n].item is not None))


def _window(
    days: int | str | None, months: int | str | None, what: str, place: Place, loc: Loc, param_env: Mapping[str, Type]
) -> Window | None:
    if days is not None and months is not None:
        raise place.error((*loc, f"{what}_days"), f"give either {what}_days or {what}_months, not both")
    unit, amount = ("days", days) if days is not None else ("months", months)
    if amount is None:
        return None
    if isinstance(amount, str):
        if param_env.get(amount) != Type.NUM:
            raise place.error((*loc, f"{what}_{unit}"), f"{amount!r} is not a number parameter")
        amount = amount.removeprefix("param.")
    return Window(unit, amount)


def indicator(
    ind: Indicator,
    place: Place,
    loc: Loc,
    items: Mapping[str, str],
    param_env: Mapping[str, Type],
) -> IndicatorDef:
    """Check one indicator against its kind's rules and the catalogue."""
    window = _window(ind.window_days, ind.window_months, "window", place, loc, param_env)
    period = _window(ind.period_days, ind.period_months, "period", place, loc, param_env)
    if ind.kind in ("age_years", "grade"):
        for key in (
            "item",
            "value",
            "window_days",
            "window_months",
            "where",
            "period_days",
            "period_months",
            "tolerance_days",
        ):
            if getattr(ind, key) is not None:
                raise place.error(
                    (*loc, key), f"a {ind.kind} indicator is read from the person frame and takes no {key!r}"
                )
        return IndicatorDef(ind.id, ind.label, ind.kind, None, None, Type.NUM, None, None, None, 0, place.origin(loc))
    if ind.item is None:
        raise place.error((*loc, "kind"), f"a {ind.kind} indicator needs an 'item'")
    if ind.item not in items:
        near = difflib.get_close_matches(ind.item, list(items), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise place.error((*loc, "item"), f"unknown data item {ind.item!r} (not in the catalogue){hint}")
    column = _column_type(ind, items[ind.item], place, loc)
    if ind.kind == "change":
        if period is None:
            raise place.error((*loc, "kind"), "a change indicator needs period_days or period_months")
    elif period is not None or ind.tolerance_days is not None:
        raise place.error((*loc, "kind"), "period and tolerance apply only to a change indicator")
    if ind.kind in ("sum", "max", "change") and column != Type.NUM:
        raise place.error((*loc, "kind"), f"{ind.kind} needs a numeric item; {ind.item!r} is {column.value}")
    where = None
    if ind.where is not None:
        if ind.kind not in _WHERE_KINDS:
            raise place.error((*loc, "where"), f"'where' does not apply to a {ind.kind} indicator")
        where = expression(ind.where, place, (*loc, "where"), {**param_env, "value": column}, Type.BOOL)
    elif ind.kind == "streak":
        raise place.error((*loc, "kind"), "a streak indicator needs 'where' (the condition an entry must meet)")
    tolerance = ind.tolerance_days if ind.tolerance_days is not None else _DEFAULT_TOLERANCE_DAYS
    if period is not None and isinstance(period.amount, int):
        length = period.amount * (28 if period.unit == "months" else 1)
        if 2 * tolerance >= length:
            raise place.error((*loc, "tolerance_days"), f"tolerance_days {tolerance} must be under half the period")
    out = {"latest": column, "exists": Type.BOOL}.get(ind.kind, Type.NUM)
    return IndicatorDef(
        ind.id, ind.label, ind.kind, ind.item, column, out, window, where, period, tolerance, place.origin(loc)
    )


def _column_type(ind: Indicator, catalogue_type: str, place: Place, loc: Loc) -> Type:
    declared = _VALUE_NAMES[ind.value] if ind.value is not None else None
    known = _CATALOGUE_TYPES.get(catalogue_type)
    if catalogue_type == "date" and ind.kind not in ("count", "exists"):
        raise place.error((*loc, "item"), f"{ind.item!r} is a date item; only count and exists apply to it")
    if declared is not None and known is not None and declared != known:
        raise place.error(
            (*loc, "value"), f"{ind.item!r} holds {known.value} values in the catalogue, not {declared.value}"
        )
    return declared or known or Type.NUM
