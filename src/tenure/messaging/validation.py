"""Refuse a template on save: parse errors, unknown variables, sandbox escapes, header injection.

Every refusal names the field (subject, preheader, body, text_body), the line and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from tenure.errors import InvalidFields
from tenure.messaging.variables import VARIABLES, known_attribute

_BUILTIN_NAMES = frozenset(("loop", "super", "self", "caller", "varargs", "kwargs"))


class TemplateInvalid(InvalidFields):
    """A template was refused on save; carries the field, the line and the reason (HTTP 422)."""

    def __init__(self, template: str, field: str, line: int, reason: str) -> None:
        super().__init__(
            f"template {template!r} refused: {field} line {line}: {reason}",
            [{"loc": f"body.{field}", "msg": f"line {line}: {reason}", "type": "template_invalid"}],
        )
        self.template, self.field, self.line, self.reason = template, field, line, reason


def check_header(template: str, field: str, value: str | None) -> None:
    """Refuse CR or LF in a header-like field (subject, preheader): header injection."""
    for index, char in enumerate(value or ""):
        if char in "\r\n":
            line = value[:index].count("\n") + 1  # type: ignore[index]
            reason = f"{field} contains a line break (CR/LF header injection)"
            raise TemplateInvalid(template, field, line, reason)


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    yield node
    for child in node.iter_child_nodes():
        yield from _walk(child)


def _escape(node: nodes.Node) -> str | None:
    """Return why a node escapes the sandbox, or None."""
    if isinstance(node, nodes.Import | nodes.FromImport):
        return "imports are not allowed in message templates"
    if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
        return f"access to the private attribute {node.attr!r} is not allowed"
    key = getattr(node.arg, "value", None) if isinstance(node, nodes.Getitem) else None
    if isinstance(key, str) and key.startswith("_"):
        return f"access to the private attribute {key!r} is not allowed"
    if isinstance(node, nodes.Name) and node.name.startswith("_"):
        return f"the name {node.name!r} is not allowed"
    named = isinstance(getattr(node, "template", None), nodes.Const)
    if isinstance(node, nodes.Extends | nodes.Include) and not named:
        return "extends/include must name a stored template in quotes"
    return None


def _attribute(node: nodes.Node) -> tuple[str, str] | None:
    """Return (variable, attribute) for `variable.attribute` or `variable['attribute']`."""
    target = getattr(node, "node", None)
    if not isinstance(target, nodes.Name) or target.name not in VARIABLES:
        return None
    if isinstance(node, nodes.Getattr):
        return target.name, node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return target.name, str(node.arg.value)
    return None


def check_source(
    env: SandboxedEnvironment,
    template: str,
    field: str,
    source: str,
    blocks: tuple[str, ...] | None,
) -> None:
    """Refuse a source that does not parse, escapes the sandbox or reads an unknown variable."""
    try:
        tree = env.parse(source)
        env.compile(tree)
    except TemplateSyntaxError as exc:
        raise TemplateInvalid(
            template, field, exc.lineno or 1, exc.message or "syntax error"
        ) from None
    assigned = _assigned(tree)
    for node in _walk(tree):
        reason = _escape(node)
        if reason is not None:
            raise TemplateInvalid(template, field, node.lineno, reason)
        pair = _attribute(node)
        if pair and pair[0] not in assigned and not known_attribute(*pair, blocks):
            variable, attribute = pair
            reason = f"unknown variable {variable}.{attribute} (see docs/messaging.md)"
            raise TemplateInvalid(template, field, node.lineno, reason)
    _check_names(env, template, field, tree)


def _assigned(tree: nodes.Template) -> set[str]:
    """Return the names a template assigns itself (set, for, macro arguments)."""
    return {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}


def _check_names(env: SandboxedEnvironment, template: str, field: str, tree: nodes.Template):
    unknown = meta.find_undeclared_variables(tree) - set(VARIABLES) - set(env.globals)
    unknown -= _BUILTIN_NAMES
    if not unknown:
        return
    first = min((n for n in tree.find_all(nodes.Name) if n.name in unknown), key=lambda n: n.lineno)
    reason = f"unknown variable {first.name!r} (see docs/messaging.md)"
    raise TemplateInvalid(template, field, first.lineno, reason)
