"""Message templates: list, versions, save with validation, preview for a real account."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from tenure.api.deps import SessionDep, SettingsDep, requires
from tenure.api.errors import responses
from tenure.messaging import preview, templates
from tenure.messaging.models import MessageTemplate
from tenure.messaging.schemas import TemplateSpec

router = APIRouter(prefix="/v1/templates", tags=["templates"])
TemplateName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class TemplateOut(BaseModel):
    """One stored template version."""

    name: str
    version: int
    kind: str
    format: str
    subject: str | None
    preheader: str | None
    layout: str | None
    purpose: str
    topic: str | None
    created_at: datetime
    created_by: str | None


class TemplateSummary(TemplateOut):
    """A template's newest version and how many versions it has."""

    versions: int


class TemplateDetail(TemplateOut):
    """A stored version with its sources."""

    body: str
    text: str | None


class TemplateVersions(BaseModel):
    """Every version of a template, newest first."""

    name: str
    versions: list[TemplateDetail]


class SavedTemplate(BaseModel):
    """The version a save resolved to; created is false when nothing changed."""

    template: TemplateOut
    created: bool


class PreviewIn(BaseModel):
    """Whom to render a template for."""

    model_config = ConfigDict(extra="forbid")

    account: str = Field(min_length=1, max_length=128, description="Account id or external id")
    contact: str | None = Field(default=None, max_length=128, description="Default: the first")
    version: int | None = Field(default=None, ge=1, description="Default: the newest version")


class PreviewOut(BaseModel):
    """A template rendered for one contact."""

    name: str
    version: int
    subject: str
    preheader: str | None
    html: str | None
    text: str


def _fields(row: MessageTemplate) -> dict[str, Any]:
    names = TemplateOut.model_fields
    return {name: getattr(row, name) for name in names}


@router.get("", summary="List message templates", responses=responses(401, 403))
def list_templates(session: SessionDep, _: requires("templates:read")) -> list[TemplateSummary]:
    """Return each template's newest version and its number of versions."""
    return [
        TemplateSummary(**_fields(row), versions=count)
        for row, count in templates.list_templates(session)
    ]


@router.get("/{name}", summary="Versions of one template", responses=responses(401, 403, 404))
def get_template(
    name: TemplateName, session: SessionDep, _: requires("templates:read")
) -> TemplateVersions:
    """Return every stored version of a template with its sources, newest first."""
    rows = templates.versions(session, name)
    details = [TemplateDetail(**_fields(r), body=r.body, text=r.text_body) for r in rows]
    return TemplateVersions(name=name, versions=details)


@router.post(
    "",
    summary="Save a template version",
    responses=responses(401, 403, 422),
)
def save_template(
    body: TemplateSpec, session: SessionDep, principal: requires("templates:write")
) -> SavedTemplate:
    """Validate and save a template; an unchanged template keeps its version (422 names the line)."""
    saved = templates.save_template(session, body, actor=principal.subject)
    return SavedTemplate(template=TemplateOut(**_fields(saved.template)), created=saved.created)


@router.post(
    "/{name}/preview",
    summary="Render a template for an account",
    responses=responses(401, 403, 404),
)
def preview_template(
    name: TemplateName,
    body: PreviewIn,
    session: SessionDep,
    settings: SettingsDep,
    _: requires("templates:read"),
) -> PreviewOut:
    """Render a template version for one of an account's contacts: subject, HTML and text."""
    rendered = preview.preview(
        session, settings, name, account=body.account, contact=body.contact, version=body.version
    )
    return PreviewOut(
        name=rendered.template_name,
        version=rendered.template_version,
        subject=rendered.subject,
        preheader=rendered.preheader,
        html=rendered.html,
        text=rendered.text,
    )
