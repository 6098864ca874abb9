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

sqlglot parses a rule (after `rule_syntax` has checked its tokens and size limits), and only
the node kinds above are taken from sqlglot's tree: anything else is a RuleError at its
position. `and`/`or` chains are flattened and combined pairwise, so a rule of the largest
allowed size compiles to a shallow expression.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis.expr.types as ir
from sqlglot import exp
from sqlglot.errors import ParseError

from tenure.segments.rule_syntax import (
    RuleDialect,
    RuleError,
    check_grammar,
    lex_rule,
)

__all__ = [
    "And",
    "Compare",
    "In",
    "Not",
    "Or",
    "RuleError",
    "compile_rule",
    "parse_rule",
    "validate_rule",
]

COMPARISONS: dict[type[exp.Expression], str] = {
    exp.EQ: "=",
    exp.NEQ: "!=",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}


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


def parse_rule(rule: str) -> Any:
    """Return the syntax tree of a rule, or raise RuleError saying where it goes wrong."""
    found = lex_rule(rule)
    negated = check_grammar(rule, found)
    try:
        (tree,) = RuleDialect().parser().parse([t.token for t in found if t.token], rule)
    except (ParseError, ValueError) as exc:  # the grammar check lets through only valid rules
        raise RuleError(f"cannot parse the rule ({exc})", rule, 0) from None
    return _Converter(rule, negated).node(tree)


class _Converter:
    """Turn the allowed kinds of sqlglot node into the rule tree; reject any other."""

    def __init__(self, rule: str, negated: set[int]) -> None:
        self.rule, self.negated = rule, negated

    def node(self, tree: exp.Expression) -> Any:
        while isinstance(tree, exp.Paren):
            tree = tree.this
        if isinstance(tree, exp.And | exp.Or):
            parts = tuple(self.node(part) for part in _chain(tree, type(tree)))
            return And(parts) if isinstance(tree, exp.And) else Or(parts)
        if isinstance(tree, exp.Not):
            if isinstance(tree.this, exp.In) and self.position(tree.this) in self.negated:
                return self.membership(tree.this, negated=True)
            return Not(self.node(tree.this))
        if isinstance(tree, exp.In):
            return self.membership(tree, negated=False)
        if type(tree) in COMPARISONS:
            field, position = self.field(tree.this)
            return Compare(field, COMPARISONS[type(tree)], self.value(tree.expression), position)
        raise self.reject(tree)

    def membership(self, tree: exp.In, *, negated: bool) -> In:
        if any(tree.args.get(key) for key in ("query", "unnest", "field")):
            raise self.reject(tree)
        field, position = self.field(tree.this)
        return In(field, tuple(self.value(v) for v in tree.expressions), negated, position)

    def field(self, tree: exp.Expression) -> tuple[str, int]:
        if not isinstance(tree, exp.Column) or tree.table or not tree.this:
            raise self.reject(tree)
        return tree.name, self.position(tree)

    def value(self, tree: exp.Expression) -> Any:
        if isinstance(tree, exp.Boolean):
            return bool(tree.this)
        if not isinstance(tree, exp.Literal):
            raise self.reject(tree)
        if tree.is_string:
            return tree.this
        return float(tree.this) if "." in tree.this else int(tree.this)

    def position(self, tree: exp.Expression) -> int:
        starts = [item.meta["start"] for item in tree.walk() if "start" in item.meta]
        return min(starts, default=0)

    def reject(self, tree: exp.Expression) -> RuleError:
        return RuleError(f"not allowed in a rule: {tree.sql()!r}", self.rule, self.position(tree))


def _chain(tree: exp.Expression, kind: type[exp.Expression]) -> list[exp.Expression]:
    """Return the operands of a chain of one connective (`a or b or c`), left to right."""
    parts, pending = [], [tree]
    while pending:
        item = pending.pop()
        if type(item) is kind:
            pending.extend((item.expression, item.this))
        else:
            parts.append(item)
    return parts


def comparisons(node: Any) -> Iterable[Compare | In]:
    """Yield every comparison in a syntax tree, left to right."""
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, Compare | In):
            yield item
        elif isinstance(item, Not):
            pending.append(item.part)
        else:
            pending.extend(reversed(item.parts))


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


def _pairwise(parts: list[ir.BooleanValue], join: Callable[..., Any]) -> ir.BooleanValue:
    """Join parts in a balanced tree (depth log2 n), not a chain n deep."""
    while len(parts) > 1:
        paired = [join(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        parts = paired + parts[len(parts) - len(parts) % 2 :]
    return parts[0]


def _compile(rule: str, table: ir.Table, node: Any) -> ir.BooleanValue:
    if isinstance(node, And | Or):
        parts = [_compile(rule, table, part) for part in node.parts]
        return _pairwise(parts, operator.and_ if isinstance(node, And) else operator.or_)
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
