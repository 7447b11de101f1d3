"""Compile a checked expression tree into one vectorised polars expression.

Missing data follows SQL's three-valued logic, which polars implements: a comparison with a
missing value is missing, ``and``/``or`` are Kleene, and ``case`` treats a missing condition as
not met. Callers turn a missing score into 0 and a missing condition into false, so an absent
record never raises a flag by itself.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from tsunagu.screen.expr import Binary, Bool, Call, Case, In, IsNull, Node, Num, Ref, Str, Unary

Resolver = Callable[[Ref], pl.Expr]


def _lit(node: Num | Str | Bool) -> pl.Expr:
    if isinstance(node, Str):
        return pl.lit(node.value, dtype=pl.String)
    if isinstance(node, Bool):
        return pl.lit(node.value, dtype=pl.Boolean)
    return pl.lit(node.value, dtype=pl.Int64 if isinstance(node.value, int) else pl.Float64)


def to_polars(node: Node, resolve: Resolver) -> pl.Expr:
    """Build the polars expression for ``node``; ``resolve`` maps each name to an expression."""
    if isinstance(node, Num | Str | Bool):
        return _lit(node)
    if isinstance(node, Ref):
        return resolve(node)
    if isinstance(node, Unary):
        operand = to_polars(node.operand, resolve)
        return -operand if node.op == "-" else ~operand
    if isinstance(node, Binary):
        return _binary(node.op, to_polars(node.left, resolve), to_polars(node.right, resolve))
    if isinstance(node, In):
        values = [option.value for option in node.options]
        member = to_polars(node.operand, resolve).is_in(values)
        return ~member if node.negated else member
    if isinstance(node, IsNull):
        operand = to_polars(node.operand, resolve)
        return operand.is_not_null() if node.negated else operand.is_null()
    if isinstance(node, Call):
        args = [to_polars(arg, resolve) for arg in node.args]
        if node.func == "abs":
            return args[0].abs()
        if node.func == "min":
            return pl.min_horizontal(args)
        if node.func == "max":
            return pl.max_horizontal(args)
        return pl.coalesce(args)
    return _case(node, resolve)


def _binary(op: str, left: pl.Expr, right: pl.Expr) -> pl.Expr:
    match op:
        case "and":
            return left & right
        case "or":
            return left | right
        case "+":
            return left + right
        case "-":
            return left - right
        case "*":
            return left * right
        case "/":
            return left / right
        case "==":
            return left == right
        case "!=":
            return left != right
        case "<":
            return left < right
        case "<=":
            return left <= right
        case ">":
            return left > right
        case ">=":
            return left >= right
    raise AssertionError(f"operator {op!r} passed the parser but has no compilation")


def _case(node: Case, resolve: Resolver) -> pl.Expr:
    # Nested rather than chained when/then: one expression type, and polars flattens it anyway.
    result = pl.lit(None) if node.default is None else to_polars(node.default, resolve)
    for cond, value in reversed(node.whens):
        result = pl.when(to_polars(cond, resolve)).then(to_polars(value, resolve)).otherwise(result)
    return result
