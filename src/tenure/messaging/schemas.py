"""Value objects passed between the messaging modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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


class BlockSpec(BaseModel):
    """A content block: its name and the rule (`when`) that shows it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    when: str = Field(min_length=1, max_length=4000)


class TemplateSpec(BaseModel):
    """A template as written (TOML, files or the API), before it is saved as a version."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: Literal["email", "layout", "partial"] = "email"
    format: Literal["mjml", "html"] | None = None
    subject: str | None = Field(default=None, max_length=998)
    preheader: str | None = Field(default=None, max_length=998)
    body: str = Field(min_length=1, max_length=500_000)
    text: str | None = Field(default=None, max_length=500_000)
    layout: str | None = Field(default=None, max_length=64)
    purpose: Literal["marketing", "transactional"] = "marketing"
    topic: str | None = Field(default=None, max_length=64)
    blocks: list[BlockSpec] = Field(default_factory=list, max_length=50)

    def source_format(self) -> str:
        """Return mjml or html: as declared, else from the body's first tag."""
        if self.format:
            return self.format
        return "mjml" if self.body.lstrip().startswith("<mjml") else "html"
