"""Type checking of rule expressions: every name known, every operator given the right types.

Types are few (number, text, bool) because the data are: a comparison of a code item with a
number, or ``and`` over a number, is a mistake in the rule and is reported at load time rather
than silently evaluating to nothing for every child.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from tsunagu.screen.expr import Binary, Bool, Call, Case, ExprError, In, IsNull, Node, Num, Ref, Str, Type, Unary


def literal_results(node: Node) -> list[Num | Str | Bool | None]:
    """The literal outcomes of a (possibly nested) case, for range checks; None = not literal."""
    if isinstance(node, Case):
        branches = [value for _cond, value in node.whens]
        if node.default is not None:
            branches.append(node.default)
        return [lit for branch in branches for lit in literal_results(branch)]
    if isinstance(node, Num | Str | Bool):
        return [node]
    return [None]


def check(node: Node, env: Mapping[str, Type]) -> Type:
    """Return the type of ``node``; every name must be in ``env`` (keys like 'x' or 'param.x')."""
    if isinstance(node, Num):
        return Type.NUM
    if isinstance(node, Str):
        return Type.TEXT
    if isinstance(node, Bool):
        return Type.BOOL
    if isinstance(node, Ref):
        if node.key not in env:
            near = difflib.get_close_matches(node.key, list(env), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            kind = f"{node.namespace} " if node.namespace else ""
            raise ExprError(node.pos, f"unknown {kind}name {node.key!r}{hint}")
        return env[node.key]
    if isinstance(node, Unary):
        want = Type.NUM if node.op == "-" else Type.BOOL
        _expect(node.operand, env, want, f"'{node.op}'")
        return want
    if isinstance(node, Binary):
        if node.op in ("and", "or"):
            _expect(node.left, env, Type.BOOL, f"'{node.op}'")
            _expect(node.right, env, Type.BOOL, f"'{node.op}'")
            return Type.BOOL
        if node.op in ("+", "-", "*", "/", "<", "<=", ">", ">="):
            _expect(node.left, env, Type.NUM, f"'{node.op}'")
            _expect(node.right, env, Type.NUM, f"'{node.op}'")
            return Type.NUM if node.op in "+-*/" else Type.BOOL
        left, right = check(node.left, env), check(node.right, env)
        if left != right:
            raise ExprError(node.pos, f"'{node.op}' compares {left.value} with {right.value}")
        return Type.BOOL
    if isinstance(node, In):
        left = check(node.operand, env)
        for option in node.options:
            if check(option, env) != left:
                raise ExprError(option.pos, f"'in' option is not {left.value} like the left side")
        return Type.BOOL
    if isinstance(node, IsNull):
        check(node.operand, env)
        return Type.BOOL
    if isinstance(node, Call):
        return _check_call(node, env)
    return _check_case(node, env)


def _expect(node: Node, env: Mapping[str, Type], want: Type, what: str) -> None:
    got = check(node, env)
    if got != want:
        raise ExprError(node.pos, f"{what} needs {want.value}, got {got.value}")


def _check_call(node: Call, env: Mapping[str, Type]) -> Type:
    if node.func == "abs":
        if len(node.args) != 1:
            raise ExprError(node.pos, "abs() takes exactly one argument")
        _expect(node.args[0], env, Type.NUM, "abs()")
        return Type.NUM
    if len(node.args) < 2:
        raise ExprError(node.pos, f"{node.func}() takes two or more arguments")
    if node.func in ("min", "max"):
        for arg in node.args:
            _expect(arg, env, Type.NUM, f"{node.func}()")
        return Type.NUM
    first = check(node.args[0], env)
    for arg in node.args[1:]:
        _expect(arg, env, first, "coalesce()")
    return first


def _check_case(node: Case, env: Mapping[str, Type]) -> Type:
    result: Type | None = None
    branches = [value for _cond, value in node.whens]
    for cond, _value in node.whens:
        _expect(cond, env, Type.BOOL, "'when'")
    if node.default is not None:
        branches.append(node.default)
    for branch in branches:
        got = check(branch, env)
        if result is None:
            result = got
        elif got != result:
            raise ExprError(branch.pos, f"case branches mix {result.value} and {got.value}")
    assert result is not None  # the parser guarantees at least one branch
    return result
