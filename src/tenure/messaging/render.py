"""Render a stored template version for one contact (sandboxed Jinja2, strict undefined).

A version is compiled once (`tenure.messaging.compiled`) with the layouts and partials it is
pinned to: a reference `name@N` names version N; a bare `name` means the newest version saved
before the referring version (so a later edit of a layout never changes a pinned version).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from tenure.errors import NotFound
from tenure.messaging import blocks as block_rules
from tenure.messaging.compiled import CompiledTemplate, build, environment, render_part
from tenure.messaging.layouts import Fetch, LayoutError, flatten
from tenure.messaging.models import MessageTemplate
from tenure.messaging.schemas import RenderedMessage
from tenure.messaging.template_models import TemplateBlock

CACHE_SIZE = 256
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")


class TemplateNotFound(NotFound):
    """No template (or no such version) with that name."""


def sandbox():
    """Return the sandboxed Jinja2 environment every message template's HTML renders in."""
    return environment(True)


def load_template(session: Session, name: str, version: int | None = None) -> MessageTemplate:
    """Return a template version (the newest when version is None)."""
    query = sa.select(MessageTemplate).where(MessageTemplate.name == name)
    if version is not None:
        query = query.where(MessageTemplate.version == version)
    template = session.scalars(query.order_by(MessageTemplate.version.desc()).limit(1)).first()
    if template is None:
        suffix = f" version {version}" if version is not None else ""
        raise TemplateNotFound(f"no message template {name!r}{suffix}")
    return template


def pinned(session: Session, reference: str, before_id: int | None) -> MessageTemplate:
    """Return the layout/partial row a reference resolves to for a version saved as before_id."""
    name, _, version = reference.partition("@")
    query = sa.select(MessageTemplate).where(
        MessageTemplate.name == name, MessageTemplate.kind.in_(("layout", "partial"))
    )
    if version:
        query = query.where(MessageTemplate.version == int(version))
    elif before_id is not None:
        query = query.where(MessageTemplate.id < before_id)
    row = session.scalars(query.order_by(MessageTemplate.version.desc()).limit(1)).first()
    if row is None:
        raise LayoutError(f"no stored layout or partial {reference!r}")
    return row


def pinned_fetch(session: Session, before_id: int | None, seen: list[int] | None = None) -> Fetch:
    """Return a fetch(reference) -> source over the rows a version is pinned to."""

    def fetch(reference: str) -> str:
        row = pinned(session, reference, before_id)
        if seen is not None:
            seen.append(row.id)
        return row.body

    return fetch


def email_source(body: str, layout: str | None) -> str:
    """Return an email's own source, wrapped in its layout when it names one without extends."""
    if not layout or "{% extends" in body or "{%- extends" in body:
        return body
    if "{% block" not in body and "{%- block" not in body:
        body = "{% block content %}" + body + "{% endblock %}"
    return f'{{% extends "{layout}" %}}' + body


def compile_template(session: Session, template: MessageTemplate) -> CompiledTemplate:
    """Compile a stored version with its pinned layout, partials and content blocks."""
    joined = flatten(
        email_source(template.body, template.layout), pinned_fetch(session, template.id)
    )
    rows = session.scalars(
        sa.select(TemplateBlock)
        .where(TemplateBlock.template_id == template.id)
        .order_by(TemplateBlock.position)
    )
    rules = tuple((b.name, block_rules.parse_block_rule(b.rule)) for b in rows)
    return build(template, joined, rules)


def render_compiled(compiled: CompiledTemplate, context: dict[str, Any]) -> RenderedMessage:
    """Render a compiled version with one contact's context."""
    chosen = {}
    if compiled.blocks:
        values = block_rules.rule_values(context)
        chosen = {name: block_rules.holds(rule, values) for name, rule in compiled.blocks}
    variables = {**dict(compiled.globals), **context, "blocks": chosen}
    subject = " ".join(render_part(compiled.subject, variables).split())
    preheader = None
    if compiled.preheader is not None:
        preheader = " ".join(render_part(compiled.preheader, variables).split())
    variables["message"] = {"subject": subject, "preheader": preheader or ""}
    return RenderedMessage(
        template_name=compiled.name,
        template_version=compiled.version,
        purpose=compiled.purpose,
        topic=compiled.topic,
        subject=subject,
        preheader=preheader,
        html=render_part(compiled.html, variables),
        text=_BLANK_LINES.sub("\n\n", render_part(compiled.text, variables)).strip(),
    )


class Renderer:
    """Render many messages: each template version is compiled once per renderer."""

    def __init__(self, session: Session, size: int = CACHE_SIZE) -> None:
        self.session = session
        self.size = size
        self.compiled: OrderedDict[Any, CompiledTemplate] = OrderedDict()

    def get(self, template: MessageTemplate) -> CompiledTemplate:
        """Return the compiled form of a stored version (compiling it on first use)."""
        key = _key(self.session, template)
        found = self.compiled.get(key)
        if found is None:
            found = self.compiled[key] = compile_template(self.session, template)
            if len(self.compiled) > self.size:
                self.compiled.popitem(last=False)
        return found

    def render(self, template: MessageTemplate, context: dict[str, Any]) -> RenderedMessage:
        """Render a stored version with one contact's context."""
        return render_compiled(self.get(template), context)


def _key(session: Session, template: MessageTemplate) -> tuple[Any, ...]:
    bind = session.get_bind()
    return (
        str(bind.url),
        template.id,
        template.name,
        template.version,
        hash((template.body, template.subject, template.text_body, template.layout)),
    )


@lru_cache(maxsize=CACHE_SIZE)
def _shared(key: tuple[Any, ...]) -> dict[str, CompiledTemplate]:
    return {}


def render_template(template: MessageTemplate, context: dict[str, Any]) -> RenderedMessage:
    """Render subject, preheader, HTML and text parts of a stored template with a context."""
    session = object_session(template)
    if session is None or template.id is None:
        raise TemplateNotFound(f"template {template.name!r} is not stored")
    slot = _shared(_key(session, template))
    if "compiled" not in slot:
        slot["compiled"] = compile_template(session, template)
    return render_compiled(slot["compiled"], context)
