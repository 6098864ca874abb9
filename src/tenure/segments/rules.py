"""A tiny, safe rule language over account fields, compiled to an Ibis filter (no eval).

Grammar (keywords are case-insensitive; fields may contain dots, e.g. `attributes.tier`)::

    rule       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" rule ")" | comparison
    comparison := FIELD ("=" | "!=" | "<" | "<=" | ">" | ">=") value
                | FIELD ["not"] "in" "(" value ("," value)* ")"
    value      := "string" | 'string' | number | true | false

Dates and times are compared with ISO strings: `created_at >= "2025-01-01"` (UTC).

`not` binds tighter than `and`, which binds tighter than `or`. A comparison with a missing
(NULL) field value is false, so `industry != "software"` leaves out accounts without an
industry while `not industry = "software"` keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis.expr.types as ir

from tenure.errors import InputError

OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
KEYWORDS = frozenset(("and", "or", "not", "in", "true", "false"))
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|==|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)


class RuleError(InputError):
    """A rule cannot be parsed or refers to an unknown field; says where."""

    def __init__(self, message: str, rule: str, position: int) -> None:
        self.position = position
        pointer = f"\n  {rule}\n  {' ' * position}^"
        super().__init__(f"rule error at position {position + 1}: {message}{pointer}")


@dataclass(frozen=True)
class Token:
    """One lexical token and the offset where it starts."""

    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Compare:
    """field op value."""

    field: str
    op: str
    value: Any
    position: int


@dataclass(frozen=True)
class In:
    """field [not] in (values)."""

    field: str
    values: tuple[Any, ...]
    negated: bool
    position: int


@dataclass(frozen=True)
class And:
    """All of the parts hold."""

    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Or:
    """Any of the parts holds."""

    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    """The part does not hold."""

    part: Any


def tokenize(rule: str) -> list[Token]:
    """Split a rule into tokens, or raise RuleError at the first character that fits none."""
    tokens, position = [], 0
    while position < len(rule):
        match = _TOKEN.match(rule, position)
        if match is None:
            raise RuleError(f"unexpected character {rule[position]!r}", rule, position)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "word" and text.lower() in KEYWORDS:
            kind, text = "keyword", text.lower()
        if kind != "space":
            tokens.append(Token(kind, "=" if text == "==" else text, position))
        position = match.end()
    tokens.append(Token("end", "", len(rule)))
    return tokens


class _Parser:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = tokenize(rule)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def fail(self, expected: str) -> RuleError:
        token = self.current
        got = "the end of the rule" if token.kind == "end" else repr(token.text)
        return RuleError(f"expected {expected}, got {got}", self.rule, token.position)

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def expect(self, kind: str, text: str, expected: str) -> Token:
        token = self.accept(kind, text)
        if token is None:
            raise self.fail(expected)
        return token

    def parse(self) -> Any:
        if self.current.kind == "end":
            raise self.fail("a condition")
        node = self.parse_or()
        if self.current.kind != "end":
            raise self.fail("'and', 'or' or the end of the rule")
        return node

    def parse_or(self) -> Any:
        parts = [self.parse_and()]
        while self.accept("keyword", "or"):
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self) -> Any:
        parts = [self.parse_not()]
        while self.accept("keyword", "and"):
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_not(self) -> Any:
        if self.accept("keyword", "not"):
            return Not(self.parse_not())
        if self.accept("punct", "("):
            node = self.parse_or()
            self.expect("punct", ")", "')'")
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> Any:
        field = self.accept("word")
        if field is None:
            raise self.fail("a field name, 'not' or '('")
        if op := self.accept("op"):
            return Compare(field.text, op.text, self.parse_value(), field.position)
        negated = self.accept("keyword", "not") is not None
        if not self.accept("keyword", "in"):
            raise self.fail("'in'" if negated else "a comparison (=, !=, <, <=, >, >=, in)")
        self.expect("punct", "(", "'(' after 'in'")
        values = [self.parse_value()]
        while self.accept("punct", ","):
            values.append(self.parse_value())
        self.expect("punct", ")", "',' or ')'")
        return In(field.text, tuple(values), negated, field.position)

    def parse_value(self) -> Any:
        token = self.current
        if token.kind == "string":
            self.index += 1
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            self.index += 1
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "keyword" and token.text in ("true", "false"):
            self.index += 1
            return token.text == "true"
        raise self.fail("a value (a quoted string, a number, true or false)")


def parse_rule(rule: str) -> Any:
    """Return the syntax tree of a rule, or raise RuleError saying where it goes wrong."""
    return _Parser(rule).parse()


def comparisons(node: Any) -> Iterable[Compare | In]:
    """Yield every comparison in a syntax tree, left to right."""
    if isinstance(node, Compare | In):
        yield node
    elif isinstance(node, Not):
        yield from comparisons(node.part)
    else:
        for part in node.parts:
            yield from comparisons(part)


def check_fields(rule: str, node: Any, known: Sequence[str]) -> None:
    """Raise RuleError at the first field that is not among the known ones."""
    for item in comparisons(node):
        if item.field not in known:
            listed = ", ".join(sorted(known))
            message = f"unknown field {item.field!r}; known fields: {listed}"
            raise RuleError(message, rule, item.position)


def _literal(rule: str, column: ir.Column, node: Compare | In, value: Any) -> Any:
    """Return value as a literal of the column's type, or raise RuleError saying why not."""
    kind = column.type()
    if kind.is_temporal() and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    elif isinstance(value, bool):
        if kind.is_boolean():
            return value
    elif isinstance(value, int | float):
        if kind.is_numeric():
            return value
    elif kind.is_string():
        return value
    message = f"field {node.field!r} holds {kind} values; cannot compare with {value!r}"
    raise RuleError(message, rule, node.position)


def _compile(rule: str, table: ir.Table, node: Any) -> ir.BooleanValue:
    if isinstance(node, And | Or):
        parts = [_compile(rule, table, part) for part in node.parts]
        result = parts[0]
        for part in parts[1:]:
            result = (result & part) if isinstance(node, And) else (result | part)
        return result
    if isinstance(node, Not):
        return ~_compile(rule, table, node.part)
    column = table[node.field]
    if isinstance(node, In):
        values = [_literal(rule, column, node, v) for v in node.values]
        test = column.notin(values) if node.negated else column.isin(values)
        return test.fill_null(False)
    value = _literal(rule, column, node, node.value)
    return {
        "=": column == value,
        "!=": column != value,
        "<": column < value,
        "<=": column <= value,
        ">": column > value,
        ">=": column >= value,
    }[node.op].fill_null(False)


def compile_rule(rule: str, table: ir.Table) -> ir.BooleanValue:
    """Return an Ibis boolean expression over table for rule (NULL counts as not matching)."""
    node = parse_rule(rule)
    check_fields(rule, node, table.columns)
    return _compile(rule, table, node)


def validate_rule(rule: str, known: Sequence[str]) -> None:
    """Raise RuleError unless rule parses and names only known fields."""
    check_fields(rule, parse_rule(rule), known)
