"""Value objects passed between the messaging modules."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderedMessage:
    """A template rendered for one contact: what goes into the outbox."""

    template_name: str
    template_version: int
    purpose: str
    topic: str | None
    subject: str
    preheader: str | None
    html: str | None
    text: str
