"""The rule expression language: what it accepts, what it rejects (with file and line), semantics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tsunagu.screen import load_rule_set
from tsunagu.screen.compile import to_polars
from tsunagu.screen.expr import ExprError, Ref, Type, parse, refs
from tsunagu.screen.typecheck import check
from tsunagu.yamlstrict import ConfigError

RULES = Path(__file__).resolve().parents[2] / "rules"
ENV = {
    "x": Type.NUM,
    "y": Type.NUM,
    "code": Type.TEXT,
    "flag": Type.BOOL,
    "param.p": Type.NUM,
    "param.label": Type.TEXT,
}

ACCEPTED = [
    ("x >= param.p and x < 90", Type.BOOL),
    ('code == "要保護"', Type.BOOL),
    ("case when x >= 3 then 2 when x > 0 then 1 else 0 end", Type.NUM),
    ("case when flag then 1 end", Type.NUM),
    ('code in ("要保護", "準要保護")', Type.BOOL),
    ("code not in ('a')", Type.BOOL),
    ("not flag or flag", Type.BOOL),
    ("x is null", Type.BOOL),
    ("code is not null", Type.BOOL),
    ("coalesce(flag, false)", Type.BOOL),
    ("min(x, 2)", Type.NUM),
    ("max(x, y, 1)", Type.NUM),
    ("abs(x - 3) <= 1.5", Type.BOOL),
    ("-param.p >= x", Type.BOOL),
    ("(x + 1) * 2 / 3 > 1.5", Type.BOOL),
    ("code == param.label", Type.BOOL),
    ("true", Type.BOOL),
]


@pytest.mark.parametrize(("source", "expected"), ACCEPTED, ids=[s for s, _ in ACCEPTED])
def test_accepted_expressions_have_their_type(source: str, expected: Type) -> None:
    assert check(parse(source), ENV) == expected


def test_refs_are_in_source_order() -> None:
    node = parse("case when y > param.p then x else y end")
    assert [r.key for r in refs(node)] == ["y", "param.p", "x", "y"]


# (expression as written in a score, part of the expected message)
REJECTED = [
    ("__import__('os')", "not allowed"),
    ("absence_12m.real > 1", "attribute access is only allowed as param.<name>"),
    ("param.__class__", "'__' are not allowed"),
    ("open('x') > 1", "function 'open' is not allowed"),
    ("getattr(absence_12m, 'x')", "function 'getattr' is not allowed"),
    ("lambda: 1", "'lambda' is not part of the rule language"),
    ("[x for x in absence_12m]", "unexpected character '['"),
    ("{1: 2}", "unexpected character '{'"),
    ("unknown_name > 1", "unknown name 'unknown_name'"),
    ("case when absence_12m > param.nope then 1 else 0 end", "unknown param name 'param.nope'"),
    ("absence_12m ** 2", "powers are not"),
    ("absence_12m = 3", "use '==' to compare"),
    ("case when absence_12m > 1 then 1 else 0 end if true else 0", "'if' is not part"),
    ("case when 1 < absence_12m < 3 then 1 else 0 end", "chained comparisons"),
    ("case when school_aid == 1 then 1 else 0 end", "compares text with number"),
    ("case when absence_12m and true then 1 else 0 end", "'and' needs bool, got number"),
    ("case when absence_12m then 1 else 0 end", "'when' needs bool, got number"),
    ("case when true then 1 else 'a' end", "case branches mix number and text"),
    ("case when true then 3 else 0 end", "outcome 3 is not a whole number 0–2"),
    ("case when true then 0.5 else 0 end", "outcome 0.5 is not a whole number"),
    ("absence_12m >= 30", "must be number, but"),
    ("'unterminated", "unterminated string"),
    ("absence_12m >", "expected a value"),
    ("exec('x')", "'exec' is not part"),
    ("absence_12m; 1", "unexpected character ';'"),
    ('f"{absence_12m}"', "after a complete expression"),
    ("min(absence_12m)", "min() takes two or more arguments"),
    ("case when absence_12m in (absence_3m) then 1 else 0 end", "only literal values may follow 'in'"),
    ("level.poverty", "attribute access is only allowed as param.<name>"),
    ("absence_12m @ 2", "unexpected character '@'"),
    ("case when true then 1 else 0", "expected 'end'"),
    ("param", "'param' must be followed by '.<name>'"),
]


def _baseline_with_score(tmp_path: Path, source: str) -> tuple[Path, int]:
    """Copy the baseline and put ``source`` as the score of pov_public_assistance."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES / "baseline", rules / "baseline", ignore=shutil.ignore_patterns("scenarios"))
    path = rules / "baseline" / "judgements.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    target = next(i for i, line in enumerate(lines) if "score: case when public_assistance then 2" in line)
    indent = lines[target][: len(lines[target]) - len(lines[target].lstrip())]
    lines[target] = f"{indent}score: {json.dumps(source, ensure_ascii=False)}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rules, target + 1


@pytest.mark.parametrize(("source", "message"), REJECTED, ids=[s for s, _ in REJECTED])
def test_rejected_expressions_are_config_errors_with_the_line(tmp_path: Path, source: str, message: str) -> None:
    rules, line = _baseline_with_score(tmp_path, source)
    with pytest.raises(ConfigError) as err:
        load_rule_set(rules, None)
    assert err.value.path.endswith("judgements.yaml")
    assert err.value.line == line
    assert message in err.value.reason


def test_empty_expression_is_rejected_with_the_line(tmp_path: Path) -> None:
    rules, line = _baseline_with_score(tmp_path, "  ")
    with pytest.raises(ConfigError) as err:
        load_rule_set(rules, None)
    assert err.value.line == line


def test_error_reports_the_column() -> None:
    with pytest.raises(ExprError) as err:
        parse("x > 1 and y ** 2")
    assert err.value.pos == 12


# --- semantics: missing data never raises a flag by itself ------------------------------------


def _eval(source: str, frame: pl.DataFrame) -> list[object]:
    def resolve(ref: Ref) -> pl.Expr:
        return pl.lit(5) if ref.namespace == "param" else pl.col(ref.name)

    return frame.select(to_polars(parse(source), resolve).alias("out"))["out"].to_list()


def test_comparisons_with_missing_values_are_missing() -> None:
    frame = pl.DataFrame({"x": [7.0, 3.0, None]})
    assert _eval("x >= param.p", frame) == [True, False, None]
    assert _eval("not (x >= param.p)", frame) == [False, True, None]


def test_case_treats_a_missing_condition_as_not_met() -> None:
    frame = pl.DataFrame({"x": [4.0, 1.0, 0.0, None]})
    assert _eval("case when x >= 3 then 2 when x > 0 then 1 else 0 end", frame) == [2, 1, 0, 0]
    assert _eval("case when x >= 3 then 2 end", frame) == [2, None, None, None]


def test_kleene_logic_and_coalesce() -> None:
    frame = pl.DataFrame({"a": [True, False, None, None], "b": [None, None, True, False]})
    assert _eval("a or b", frame) == [True, None, True, None]
    assert _eval("a and b", frame) == [None, False, None, False]
    assert _eval("coalesce(a, false) or coalesce(b, false)", frame) == [True, False, True, False]


def test_in_is_null_and_functions() -> None:
    frame = pl.DataFrame({"c": ["要保護", "準要保護", None], "x": [-3.0, 8.0, None]})
    assert _eval('c in ("要保護", "x")', frame) == [True, False, None]
    assert _eval('c not in ("要保護")', frame) == [False, True, None]
    assert _eval("c is null", frame) == [False, False, True]
    assert _eval("abs(x)", frame) == [3.0, 8.0, None]
    assert _eval("min(x, 2)", frame) == [-3.0, 2.0, 2.0]
    assert _eval("max(x, 0) - -1", frame) == [1.0, 9.0, 1.0]
