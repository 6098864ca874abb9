"""Render a stored template version for one contact (sandboxed Jinja2, strict undefined)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.orm import Session

from tenure.errors import TenureError
from tenure.messaging.models import MessageTemplate
from tenure.messaging.schemas import RenderedMessage


class TemplateNotFound(TenureError):
    """No template (or no such version) with that name."""


def sandbox() -> SandboxedEnvironment:
    """Return the sandboxed Jinja2 environment every message template renders in."""
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


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


def render_template(template: MessageTemplate, context: dict[str, Any]) -> RenderedMessage:
    """Render subject, preheader, HTML and text parts of a template with a context."""
    env = sandbox()
    text_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    subject = text_env.from_string(template.subject or "").render(context)
    html = env.from_string(template.body).render(context)
    text_source = template.text_body
    text = text_env.from_string(text_source).render(context) if text_source else html
    return RenderedMessage(
        template_name=template.name,
        template_version=template.version,
        purpose=template.purpose,
        topic=template.topic,
        subject=" ".join(subject.split()),
        preheader=template.preheader,
        html=html,
        text=text,
    )
