"""The rule expression language: tokenizer and recursive-descent parser.

Rule expressions are written by policy staff and end up deciding which children are listed, so
the language is deliberately tiny and never executed as Python: the source is tokenised here,
parsed into the node types below and nothing else, type-checked in ``typecheck.py`` and
compiled to polars in ``compile.py``.
Anything outside the grammar is rejected with the column where it stands.

Grammar (lowest precedence first)::

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := sum [ ("=="|"!="|"<"|"<="|">"|">=") sum
                    | ["not"] "in" "(" literal ("," literal)* ")"
                    | "is" ["not"] "null" ]
    sum      := product (("+"|"-") product)*
    product  := unary (("*"|"/") unary)*
    unary    := "-" unary | primary
    primary  := NUMBER | STRING | "true" | "false" | "(" expr ")" | case
              | NAME "(" expr ("," expr)* ")"          -- only whitelisted functions
              | NAME ["." NAME]                        -- dotted only for allowed namespaces
    case     := "case" ("when" expr "then" expr)+ ["else" expr] "end"
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from tsunagu.errors import InputError


class ExprError(InputError, ValueError):
    """An expression is malformed or ill-typed; ``pos`` is the 0-based column."""

    code = "expression"

    def __init__(self, pos: int, message: str) -> None:
        self.pos = pos
        self.message = message
        super().__init__(f"column {pos + 1}: {message}")


class Type(Enum):
    NUM = "number"
    TEXT = "text"
    BOOL = "bool"


# --- syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float | int
    pos: int


@dataclass(frozen=True)
class Str:
    value: str
    pos: int


@dataclass(frozen=True)
class Bool:
    value: bool
    pos: int


@dataclass(frozen=True)
class Ref:
    """A name: an indicator (``namespace`` None) or ``param.x`` / ``level.x``."""

    namespace: str | None
    name: str
    pos: int

    @property
    def key(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / and or == != < <= > >=
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class In:
    operand: Node
    options: tuple[Num | Str | Bool, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class IsNull:
    operand: Node
    negated: bool
    pos: int


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Case:
    whens: tuple[tuple[Node, Node], ...]
    default: Node | None
    pos: int


Node = Num | Str | Bool | Ref | Unary | Binary | In | IsNull | Call | Case

FUNCTIONS: dict[str, str] = {
    "min": "smallest of two or more numbers",
    "max": "largest of two or more numbers",
    "abs": "absolute value of a number",
    "coalesce": "first non-missing of two or more values",
}
KEYWORDS = frozenset(["and", "or", "not", "in", "is", "null", "true", "false", "case", "when", "then", "else", "end"])
# Python words that someone might try; naming them gives a clearer error than "unexpected name".
_FORBIDDEN_WORDS = frozenset(
    [
        "lambda",
        "import",
        "from",
        "for",
        "if",
        "def",
        "class",
        "yield",
        "await",
        "async",
        "exec",
        "eval",
        "global",
        "nonlocal",
        "del",
        "return",
        "with",
        "while",
        "try",
        "except",
        "raise",
        "assert",
        "pass",
        "None",
        "True",
        "False",
    ]
)
_COMPARE = ("==", "!=", "<=", ">=", "<", ">")
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<str>"[^"\\\n]*"|'[^'\\\n]*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|,|\.)
    """,
    re.VERBOSE,
)
_HINTS = {
    "=": "use '==' to compare",
    "[": 'lists are written in parentheses after \'in\', e.g. x in ("a", "b")',
    "{": "braces are not part of the rule language",
    "&": "use 'and'",
    "|": "use 'or'",
    "!": "use 'not' or '!='",
    ":": "use 'case when ... then ... else ... end' for conditions",
    "@": "decorators and matrix operators are not part of the rule language",
    ";": "one expression per rule",
    "\\": "escapes are not allowed in strings",
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # num str name op end
    text: str
    pos: int


def _refuse_forbidden(tokens: list[_Tok]) -> None:
    # A Python construct usually fails on a later character (the ':' of a lambda); naming the
    # word that started it is the more useful message.
    for tok in tokens:
        if tok.kind == "name" and tok.text in _FORBIDDEN_WORDS:
            raise ExprError(tok.pos, f"{tok.text!r} is not part of the rule language")


def tokenize(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            _refuse_forbidden(tokens)
            char = source[pos]
            hint = _HINTS.get(char, "")
            if source.startswith("**", pos):
                hint = "powers are not allowed"
            elif char in "\"'":
                hint = "unterminated string (escapes and line breaks are not allowed)"
            raise ExprError(pos, f"unexpected character {char!r}" + (f": {hint}" if hint else ""))
        kind = match.lastgroup or ""
        if kind != "ws":
            if kind == "op" and source.startswith("**", pos):
                raise ExprError(pos, "'**' is not allowed: powers are not part of the rule language")
            tokens.append(_Tok(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Tok("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str, namespaces: frozenset[str]) -> None:
        self.tokens = tokenize(source)
        self.i = 0
        self.namespaces = namespaces

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def at(self, text: str) -> bool:
        tok = self.tok
        return tok.kind in ("op", "name") and tok.text == text

    def take(self, text: str) -> _Tok:
        if not self.at(text):
            found = self.tok.text or "end of expression"
            raise ExprError(self.tok.pos, f"expected {text!r}, found {found!r}")
        tok = self.tok
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_()
        if self.tok.kind != "end":
            _refuse_forbidden([self.tok])
            raise ExprError(self.tok.pos, f"unexpected {self.tok.text!r} after a complete expression")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            pos = self.take("or").pos
            node = Binary("or", node, self.and_(), pos)
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            pos = self.take("and").pos
            node = Binary("and", node, self.not_(), pos)
        return node

    def not_(self) -> Node:
        if self.at("not"):
            pos = self.take("not").pos
            return Unary("not", self.not_(), pos)
        return self.compare()

    def compare(self) -> Node:
        left = self.sum_()
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARE:
            self.i += 1
            node: Node = Binary(tok.text, left, self.sum_(), tok.pos)
        elif self.at("in") or (self.at("not") and self.tokens[self.i + 1].text == "in"):
            negated = self.at("not")
            if negated:
                self.take("not")
            pos = self.take("in").pos
            node = In(left, self.options(), negated, pos)
        elif self.at("is"):
            pos = self.take("is").pos
            negated = self.at("not")
            if negated:
                self.take("not")
            self.take("null")
            node = IsNull(left, negated, pos)
        else:
            return left
        if self.tok.kind == "op" and self.tok.text in _COMPARE:
            raise ExprError(self.tok.pos, "chained comparisons are not allowed; join them with 'and'")
        return node

    def options(self) -> tuple[Num | Str | Bool, ...]:
        self.take("(")
        items: list[Num | Str | Bool] = []
        while True:
            item = self.primary()
            if not isinstance(item, Num | Str | Bool):
                raise ExprError(item.pos, "only literal values may follow 'in'")
            items.append(item)
            if self.at(","):
                self.take(",")
                continue
            self.take(")")
            return tuple(items)

    def sum_(self) -> Node:
        node = self.product()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            tok = self.tok
            self.i += 1
            node = Binary(tok.text, node, self.product(), tok.pos)
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            tok = self.tok
            self.i += 1
            node = Binary(tok.text, node, self.unary(), tok.pos)
        return node

    def unary(self) -> Node:
        if self.at("-"):
            pos = self.take("-").pos
            operand = self.unary()
            if isinstance(operand, Num):
                return Num(-operand.value, pos)
            return Unary("-", operand, pos)
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            return Num(float(tok.text) if "." in tok.text else int(tok.text), tok.pos)
        if tok.kind == "str":
            self.i += 1
            return Str(tok.text[1:-1], tok.pos)
        if self.at("("):
            self.take("(")
            node = self.or_()
            self.take(")")
            return node
        if tok.kind == "name":
            return self.name()
        found = tok.text or "end of expression"
        raise ExprError(tok.pos, f"expected a value, found {found!r}")

    def name(self) -> Node:
        tok = self.tok
        word = tok.text
        self.i += 1
        if word in ("true", "false"):
            return Bool(word == "true", tok.pos)
        if word == "case":
            return self.case(tok.pos)
        if word in KEYWORDS:
            raise ExprError(tok.pos, f"expected a value, found keyword {word!r}")
        if word in _FORBIDDEN_WORDS:
            raise ExprError(tok.pos, f"{word!r} is not part of the rule language")
        if word.startswith("__"):
            raise ExprError(tok.pos, f"names starting with '__' are not allowed ({word!r})")
        if self.at("("):
            if word not in FUNCTIONS:
                allowed = ", ".join(sorted(FUNCTIONS))
                raise ExprError(tok.pos, f"function {word!r} is not allowed (allowed: {allowed})")
            return self.call(word, tok.pos)
        if self.at("."):
            dot = self.take(".")
            if word not in self.namespaces:
                allowed = " or ".join(f"{n}.<name>" for n in sorted(self.namespaces)) or "none here"
                raise ExprError(dot.pos, f"attribute access is only allowed as {allowed}")
            attr = self.tok
            if attr.kind != "name" or attr.text in KEYWORDS:
                raise ExprError(attr.pos, f"expected a name after '{word}.'")
            if attr.text.startswith("__"):
                raise ExprError(attr.pos, f"names starting with '__' are not allowed ({attr.text!r})")
            self.i += 1
            if self.at(".") or self.at("("):
                raise ExprError(self.tok.pos, f"'{word}.{attr.text}' cannot be followed by {self.tok.text!r}")
            return Ref(word, attr.text, tok.pos)
        if word in self.namespaces:
            raise ExprError(tok.pos, f"{word!r} must be followed by '.<name>'")
        return Ref(None, word, tok.pos)

    def call(self, func: str, pos: int) -> Node:
        self.take("(")
        args = [self.or_()]
        while self.at(","):
            self.take(",")
            args.append(self.or_())
        self.take(")")
        return Call(func, tuple(args), pos)

    def case(self, pos: int) -> Node:
        whens: list[tuple[Node, Node]] = []
        while self.at("when"):
            self.take("when")
            cond = self.or_()
            self.take("then")
            whens.append((cond, self.or_()))
        if not whens:
            raise ExprError(self.tok.pos, "'case' needs at least one 'when ... then ...'")
        default: Node | None = None
        if self.at("else"):
            self.take("else")
            default = self.or_()
        self.take("end")
        return Case(tuple(whens), default, pos)


def parse(source: str, namespaces: frozenset[str] = frozenset({"param"})) -> Node:
    """Parse ``source`` into a syntax tree; raises ExprError on anything outside the grammar."""
    if not source.strip():
        raise ExprError(0, "expression is empty")
    return _Parser(source, namespaces).parse()


def children(node: Node) -> Iterator[Node]:
    if isinstance(node, Unary):
        yield node.operand
    elif isinstance(node, Binary):
        yield node.left
        yield node.right
    elif isinstance(node, In | IsNull):
        yield node.operand
    elif isinstance(node, Call):
        yield from node.args
    elif isinstance(node, Case):
        for cond, value in node.whens:
            yield cond
            yield value
        if node.default is not None:
            yield node.default


def refs(node: Node) -> list[Ref]:
    """Every name in ``node``, in source order (the first one is the default evidence)."""
    out: list[Ref] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Ref):
            out.append(current)
        stack.extend(reversed(list(children(current))))
    return sorted(out, key=lambda r: r.pos)
