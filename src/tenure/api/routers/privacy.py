"""Privacy requests: subject access exports and erasures (admins only, audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tenure.api.deps import SessionDep, client_ip, requires
from tenure.api.errors import responses
from tenure.auth.service import audit
from tenure.errors import NotFound

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])
RequestId = Annotated[str, Path(min_length=1, max_length=36)]


class ContactSubject(BaseModel):
    """A request about a contact: their id, external id or email."""

    model_config = ConfigDict(extra="forbid")

    contact: str = Field(min_length=1, max_length=320)


class AccountSubject(BaseModel):
    """A request about an account (a B2B customer leaving): its id or external id."""

    model_config = ConfigDict(extra="forbid")

    account: str = Field(min_length=1, max_length=128)


# Exactly one of contact or account, stated in the schema (each shape forbids the other key).
SubjectIn = ContactSubject | AccountSubject


def _subject_keys(body: SubjectIn) -> dict[str, str | None]:
    """Return the request's contact and account (one of them None)."""
    return {
        "contact": getattr(body, "contact", None),
        "account": getattr(body, "account", None),
    }


class PrivacyRequestOut(BaseModel):
    """A privacy request: its id, status and (when finished) what it did."""

    id: str
    kind: str
    subject: str
    status: str
    requested_by: str
    requested_at: str
    finished_at: str | None
    report: dict[str, Any]
    repeated: bool = False


@router.post(
    "/exports",
    summary="Export everything held about a contact or an account (zip of JSON files)",
    responses={**responses(400, 404, 422), 200: {"content": {"application/zip": {}}}},
    response_class=Response,
)
def create_export(
    body: SubjectIn, request: Request, session: SessionDep, principal: requires("privacy:admin")
) -> Response:
    """Return the subject's archive: one JSON file per kind and a README."""
    from tenure.privacy import export, subjects

    settings = request.app.state.settings
    subject = subjects.resolve(session, **_subject_keys(body))
    data = export.archive(subject, export.collect(session, settings, subject))
    audit(session, actor=principal.subject, action="privacy_export", target=subject.key,
          ip=client_ip(request))  # fmt: skip
    name = f"tenure-export-{subject.kind}-{subject.id}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type="application/zip", headers=headers)


@router.post(
    "/erasures",
    status_code=202,
    response_model=PrivacyRequestOut,
    summary="Erase a contact or an account from every copy (follow it by id)",
    responses=responses(400, 404, 422),
)
def create_erasure(
    body: SubjectIn,
    request: Request,
    background: BackgroundTasks,
    principal: requires("privacy:admin"),
) -> dict[str, Any]:
    """Record the erasure and run it after answering; asking again returns the first request."""
    from tenure.privacy.erasure import run_erasure, start_erasure

    engine, settings = request.app.state.engine, request.app.state.settings
    actor = principal.subject
    subject, found = start_erasure(engine, actor=actor, **_subject_keys(body))
    if subject is not None or found.get("resume"):
        background.add_task(run_erasure, settings, engine, subject, found["id"], actor)
    return found


@router.get(
    "/erasures/{request_id}",
    response_model=PrivacyRequestOut,
    summary="Follow an erasure request",
    responses=responses(404),
)
async def get_erasure(
    request_id: RequestId, session: SessionDep, principal: requires("privacy:admin")
) -> dict[str, Any]:
    """Return an erasure request with its status and report."""
    from tenure.privacy.erasure import get_request

    found = get_request(session, request_id)
    if found is None or found["kind"] != "erasure":
        raise NotFound(f"privacy: no erasure request {request_id!r}")
    return found
