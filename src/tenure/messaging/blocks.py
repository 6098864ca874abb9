"""Content blocks chosen by rule: `[[blocks]] name = "reports_guide" when = "..."`.

Rules use the segments rule language (`tenure.segments.rules`: comparisons, `in`, `and`,
`or`, `not`) over the documented variables in RULE_FIELDS. On a list-valued field (features,
driver codes) `==` means "contains", `!=` "does not contain" and `in (...)` "contains any".
A comparison with a missing value (None) does not hold.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from tenure.messaging.variables import RULE_FIELDS
from tenure.segments.rules import And, Compare, In, Not, Or, check_fields, parse_rule

_OPS = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def parse_block_rule(rule: str) -> Any:
    """Return the syntax tree of a block rule, or raise RuleError saying where it is wrong."""
    tree = parse_rule(rule)
    check_fields(rule, tree, RULE_FIELDS)
    return tree


_SPLIT = tuple((field, *field.split(".", 1)) for field in RULE_FIELDS)


def rule_values(context: Mapping[str, Any]) -> dict[str, Any]:
    """Return the rule fields' values ("churn.top_driver" -> value) of one message context."""
    out: dict[str, Any] = {}
    for field, variable, attribute in _SPLIT:
        scope = context.get(variable)
        out[field] = scope.get(attribute) if isinstance(scope, Mapping) else None
    return out


def _compare(node: Compare, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, list | tuple):
        contains = node.value in value
        return contains if node.op in ("=", "==") else not contains if node.op == "!=" else False
    try:
        return bool(_OPS[node.op](value, node.value))
    except TypeError:
        return False


def holds(node: Any, values: Mapping[str, Any]) -> bool:
    """Tell whether a parsed rule holds for a message context's rule values."""
    if isinstance(node, Compare):
        return _compare(node, values.get(node.field))
    if isinstance(node, In):
        value = values.get(node.field)
        if value is None:
            return False
        found = (
            any(v in node.values for v in value)
            if isinstance(value, list | tuple)
            else value in node.values
        )
        return found != node.negated
    if isinstance(node, Not):
        return not holds(node.part, values)
    if isinstance(node, And):
        return all(holds(part, values) for part in node.parts)
    if isinstance(node, Or):
        return any(holds(part, values) for part in node.parts)
    raise TypeError(f"not a rule node: {node!r}")
