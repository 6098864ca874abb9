"""Alerts: list, detail, acknowledge, snooze, resolve (a csm only on their own accounts)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tenure import clock
from tenure.accounts.people import contact_names, masked_alerts
from tenure.accounts.schemas import MAX_ID
from tenure.alerts import service as alerts
from tenure.alerts import smart
from tenure.alerts.models import Alert
from tenure.api.deps import SessionDep, SettingsDep, client_ip, requires
from tenure.api.errors import Forbidden, responses
from tenure.auth.service import audit
from tenure.auth.tokens import Principal
from tenure.privacy.masking import reveals

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=MAX_ID)]
Status = Literal["open", "acknowledged", "snoozed", "resolved", "active"]


class SnoozeUntil(BaseModel):
    """Snooze until a time (with its zone), up to 365 days ahead."""

    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime = Field(description="A future time with zone, at most 365 days ahead")

    def deadline(self) -> datetime:
        """Return when the snooze ends."""
        return self.until


class SnoozeFor(BaseModel):
    """Snooze for a number of hours (at most a year)."""

    model_config = ConfigDict(extra="forbid")

    hours: float = Field(gt=0, le=24 * 365)

    def deadline(self) -> datetime:
        """Return when the snooze ends."""
        return clock.now() + timedelta(hours=self.hours)


SnoozeIn = Annotated[
    SnoozeUntil | SnoozeFor, Body(description="Exactly one of until (a time) or hours")
]


def _page(session: Any, status: str | None, owner: str | None, account_id: int | None) -> int:
    query = sa.select(sa.func.count()).select_from(Alert)
    if status == "active":
        query = query.where(Alert.status.in_(("open", "acknowledged", "snoozed")))
    elif status:
        query = query.where(Alert.status == status)
    if owner is not None:
        query = query.where(Alert.owner == owner)
    if account_id is not None:
        query = query.where(Alert.account_id == account_id)
    return session.scalar(query) or 0


@router.get("", summary="List alerts")
def list_alerts(
    session: SessionDep,
    principal: requires("alerts:read"),
    status: Status | None = None,
    owner: Annotated[str | None, Query(max_length=255)] = None,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Return alerts newest first; a csm sees only the alerts of their own accounts."""
    if principal.role == "csm":
        owner = principal.subject
    rows = alerts.list_alerts(
        session, status=status, owner=owner, account_id=account_id, limit=limit, offset=offset
    )
    return {
        "total": _page(session, status, owner, account_id),
        "limit": limit,
        "offset": offset,
        "items": [_shown(session, a, principal) for a in rows],
    }


@router.get("/inbox", summary="The smart inbox: alerts grouped by account, by MRR at risk")
def inbox(
    session: SessionDep,
    settings: SettingsDep,
    principal: requires("alerts:read"),
    status: Status | None = "active",
    owner: Annotated[str | None, Query(max_length=255)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Return one group per account, most MRR at risk first; a csm sees only their own."""
    if principal.role == "csm":
        owner = principal.subject
    found = smart.inbox_groups(
        db_session=session, settings=settings, day=clock.now().date(),
        status=status, owner=owner, page=page, size=size,
    )  # fmt: skip
    groups = []
    for group in found["groups"]:
        shown = [_shown(session, a, principal) for a in group["alerts"]]
        why = smart.reasons(group["account_name"], [a["message"] for a in shown])
        groups.append({**group, "reasons": why, "alerts": shown})
    return {**found, "groups": groups}


def _shown(session: Any, alert: Alert, principal: Principal) -> dict[str, Any]:
    """Return an alert as the caller may see it (identifiers masked unless it reveals them)."""
    if reveals(principal.role, principal.subject, alert.owner):
        return alerts.alert_dict(alert)
    names = contact_names(session, [alert.account_id])
    return alerts.alert_dict(masked_alerts([alert], names)[0])


def _visible(session: Any, alert_id: int, principal: Principal) -> Alert:
    alert = alerts.get_alert(session, alert_id)
    if principal.role == "csm" and alert.owner.lower() != principal.subject.lower():
        raise Forbidden(f"alert {alert_id} is on an account you do not own")
    return alert


@router.get("/{alert_id}", summary="One alert with its history", responses=responses(403, 404))
def get_alert(
    alert_id: AlertId, session: SessionDep, principal: requires("alerts:read")
) -> dict[str, Any]:
    """Return an alert and every change to it."""
    alert = _visible(session, alert_id, principal)
    history = [alerts.history_dict(h) for h in alerts.alert_history(session, alert_id)]
    return {**_shown(session, alert, principal), "history": history}


def _act(request: Request, session: Any, principal: Principal, alert_id: int, action: str) -> None:
    _visible(session, alert_id, principal)
    audit(
        session,
        actor=principal.subject,
        action=f"alert_{action}",
        target=f"alert:{alert_id}",
        ip=client_ip(request),
    )


@router.post("/{alert_id}/ack", summary="Acknowledge an alert", responses=responses(403, 404, 409))
def acknowledge(
    alert_id: AlertId, request: Request, session: SessionDep, principal: requires("alerts:act")
) -> dict[str, Any]:
    """Acknowledge an open or snoozed alert."""
    _act(request, session, principal, alert_id, "acknowledge")
    return alerts.alert_dict(alerts.acknowledge(session, alert_id, actor=principal.subject))


@router.post(
    "/{alert_id}/snooze", summary="Snooze an alert", responses=responses(400, 403, 404, 409)
)
def snooze(
    alert_id: AlertId,
    body: SnoozeIn,
    request: Request,
    session: SessionDep,
    principal: requires("alerts:act"),
) -> dict[str, Any]:
    """Hide an alert until a time; it re-opens then."""
    _act(request, session, principal, alert_id, "snooze")
    until = body.deadline()
    return alerts.alert_dict(alerts.snooze(session, alert_id, until=until, actor=principal.subject))


@router.post("/{alert_id}/resolve", summary="Resolve an alert", responses=responses(403, 404, 409))
def resolve(
    alert_id: AlertId, request: Request, session: SessionDep, principal: requires("alerts:act")
) -> dict[str, Any]:
    """Close an alert."""
    _act(request, session, principal, alert_id, "resolve")
    return alerts.alert_dict(alerts.resolve(session, alert_id, actor=principal.subject))
