"""Consent decisions of a contact, recorded through the API (admins and managers)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from tenure.accounts.schemas import MAX_ID
from tenure.api.deps import SessionDep, client_ip, requires
from tenure.api.errors import responses
from tenure.auth.service import audit
from tenure.messaging import consent

router = APIRouter(prefix="/v1/contacts", tags=["consent"])

ContactId = Annotated[int, Path(ge=1, le=MAX_ID)]


class ConsentIn(BaseModel):
    """One consent decision: a channel, a purpose (marketing, transactional) or topic, granted."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["email"] = "email"
    purpose: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="marketing, transactional, or a topic such as product-news",
    )  # fmt: skip
    granted: bool
    text_version: str | None = Field(
        default=None, max_length=32, description="Version of the consent wording shown"
    )


class ConsentDecisionOut(BaseModel):
    """The decision recorded."""

    channel: str
    purpose: str
    granted: bool
    source: str
    text_version: str | None
    actor: str | None
    at: str


class ConsentOut(BaseModel):
    """The recorded decision and the contact's consent in force per purpose/topic."""

    contact_id: int
    decision: ConsentDecisionOut
    consent: dict[str, dict[str, Any]]


@router.post(
    "/{contact_id}/consent",
    status_code=201,
    response_model=ConsentOut,
    summary="Record a consent decision",
    responses=responses(400, 404),
)
def record_consent(
    contact_id: ContactId,
    body: ConsentIn,
    request: Request,
    session: SessionDep,
    principal: requires("consent:write"),
) -> dict[str, Any]:
    """Record a contact's consent (source api); the newest decision per purpose holds."""
    contact = consent.get_contact(session, contact_id)
    row = consent.record_consent(
        session, contact, channel=body.channel, purpose=body.purpose, granted=body.granted,
        source="api", text_version=body.text_version, actor=principal.subject,
    )  # fmt: skip
    audit(
        session, actor=principal.subject, action="consent_record", target=f"contact:{contact_id}",
        ip=client_ip(request), detail={"purpose": body.purpose, "granted": body.granted},
    )  # fmt: skip
    decision = {
        "channel": row.channel, "purpose": row.purpose, "granted": row.granted,
        "source": row.source, "text_version": row.text_version, "actor": row.actor,
        "at": row.at.isoformat(),
    }  # fmt: skip
    return {
        "contact_id": contact_id,
        "decision": decision,
        "consent": consent.consent_state(session, contact),
    }
