"""Email journeys: list, one journey's results, pause, resume, manual enrolment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from tenure.accounts.schemas import MAX_ID
from tenure.api.deps import SessionDep, SettingsDep, client_ip, requires
from tenure.api.errors import responses
from tenure.auth.service import audit
from tenure.messaging import journeys_store as store
from tenure.messaging.journeys_enrol import enrol_manually
from tenure.messaging.journeys_results import journey_results, journey_summary

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])

JourneyKey = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class EnrolIn(BaseModel):
    """Enrol one contact by id."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int = Field(ge=1, le=MAX_ID, description="The contact to enrol")


@router.get("", summary="List journeys")
def list_journeys(session: SessionDep, _: requires("journeys:read")) -> list[dict[str, Any]]:
    """Return every journey with its trigger, entrants, sends and goal rates."""
    return [journey_summary(session, j) for j in store.list_journeys(session)]


@router.get("/{key}", summary="One journey with its results", responses=responses(404))
def get_journey(
    key: JourneyKey, session: SessionDep, _: requires("journeys:read")
) -> dict[str, Any]:
    """Return a journey's per-step funnel for treated and holdout and the goal-rate lift."""
    return journey_results(session, store.get_journey(session, key))


def _set_status(request: Request, session: Any, subject: str, key: str, status: str) -> dict:
    journey = store.set_status(session, key, status)
    action = "journey_pause" if status == "paused" else "journey_resume"
    audit(session, actor=subject, action=action, target=f"journey:{key}", ip=client_ip(request))
    return journey_summary(session, journey)


@router.post("/{key}/pause", summary="Pause a journey", responses=responses(404, 409))
def pause(
    key: JourneyKey, request: Request, session: SessionDep, principal: requires("journeys:write")
) -> dict[str, Any]:
    """Pause a journey: nobody enters and no step runs until it is resumed."""
    return _set_status(request, session, principal.subject, key, "paused")


@router.post("/{key}/resume", summary="Resume a journey", responses=responses(404, 409))
def resume(
    key: JourneyKey, request: Request, session: SessionDep, principal: requires("journeys:write")
) -> dict[str, Any]:
    """Resume a paused journey; due steps run at the next tick."""
    return _set_status(request, session, principal.subject, key, "active")


@router.post(
    "/{key}/enrol", summary="Enrol a contact", status_code=201, responses=responses(404, 409)
)
def enrol(
    key: JourneyKey,
    body: EnrolIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: requires("journeys:write"),
) -> dict[str, Any]:
    """Enrol one contact (treated or holdout by assignment); its first step runs at the next tick."""
    journey = store.get_journey(session, key)
    enrollment = enrol_manually(session, settings, journey, body.contact_id, principal.subject)
    target = f"journey:{key}:contact:{body.contact_id}"
    audit(
        session,
        actor=principal.subject,
        action="journey_enrol",
        target=target,
        ip=client_ip(request),
    )
    return {
        "enrollment_id": enrollment.id, "journey": key, "contact_id": body.contact_id,
        "arm": enrollment.arm, "run_no": enrollment.run_no, "status": enrollment.status,
        "current_step": enrollment.current_step,
    }  # fmt: skip
