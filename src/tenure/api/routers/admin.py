"""Scorecards and alert rules (read all, write admin/manager); users, write keys, audit (admin)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Path, Query, Request, Response

from tenure.alerts import service as alerts
from tenure.api.deps import SessionDep, client_ip, requires
from tenure.api.errors import responses
from tenure.api.schemas import NON_BLANK, AuditPage, UserIn, UserOut
from tenure.auth import service
from tenure.auth.models import AuditEntry, User, WriteKey
from tenure.errors import InputError
from tenure.health import scorecards

router = APIRouter(prefix="/v1")
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Spec = Annotated[dict[str, Any], Body(description="The definition, as `GET` returns it")]


def _named(spec: dict[str, Any], name: str) -> dict[str, Any]:
    if spec.get("name", name) != name:
        raise InputError(f"the body names {spec.get('name')!r} but the path names {name!r}")
    return {**spec, "name": name}


@router.get("/scorecards", tags=["scorecards"], summary="List scorecards")
def list_scorecards(session: SessionDep, _: requires("scorecards:read")) -> list[dict[str, Any]]:
    """Return the scorecards in force, by priority."""
    return [card.to_json() for card in scorecards.list_scorecards(session)]


@router.get(
    "/scorecards/{name}", tags=["scorecards"], summary="One scorecard", responses=responses(404)
)
def get_scorecard(name: Name, session: SessionDep, _: requires("scorecards:read")) -> dict:
    """Return one scorecard."""
    return scorecards.get_scorecard(session, name).to_json()


@router.put(
    "/scorecards/{name}",
    tags=["scorecards"],
    summary="Create or replace a scorecard",
    responses=responses(400, 409),
)
def put_scorecard(
    name: Name,
    spec: Spec,
    request: Request,
    session: SessionDep,
    principal: requires("scorecards:write"),
) -> dict[str, Any]:
    """Create or replace a scorecard (validated)."""
    card = scorecards.save_scorecard(session, _named(spec, name))
    service.audit(
        session,
        actor=principal.subject,
        action="scorecard_save",
        target=name,
        ip=client_ip(request),
    )
    return card.to_json()


@router.delete(
    "/scorecards/{name}",
    tags=["scorecards"],
    status_code=204,
    summary="Delete",
    responses=responses(404, 409),
)
def delete_scorecard(
    name: Name, request: Request, session: SessionDep, principal: requires("scorecards:write")
) -> Response:
    """Delete a scorecard (the set must still cover every account)."""
    scorecards.delete_scorecard(session, name)
    service.audit(
        session,
        actor=principal.subject,
        action="scorecard_delete",
        target=name,
        ip=client_ip(request),
    )
    return Response(status_code=204)


@router.get("/alert-rules", tags=["alerts"], summary="List alert rules")
def list_rules(session: SessionDep, _: requires("rules:read")) -> list[dict[str, Any]]:
    """Return every alert rule."""
    return [alerts.rule_dict(rule) for rule in alerts.list_rules(session)]


@router.put(
    "/alert-rules/{name}",
    tags=["alerts"],
    summary="Create or replace an alert rule",
    responses=responses(400),
)
def put_rule(
    name: Name,
    spec: Spec,
    request: Request,
    session: SessionDep,
    principal: requires("rules:write"),
) -> dict[str, Any]:
    """Create or replace an alert rule (validated)."""
    rule = alerts.save_rule(session, _named(spec, name))
    service.audit(
        session, actor=principal.subject, action="rule_save", target=name, ip=client_ip(request)
    )
    return alerts.rule_dict(rule)


@router.delete(
    "/alert-rules/{name}",
    tags=["alerts"],
    status_code=204,
    summary="Delete a rule",
    responses=responses(404),
)
def delete_rule(
    name: Name, request: Request, session: SessionDep, principal: requires("rules:write")
) -> Response:
    """Delete an alert rule (its alerts stay)."""
    alerts.delete_rule(session, name)
    service.audit(
        session, actor=principal.subject, action="rule_delete", target=name, ip=client_ip(request)
    )
    return Response(status_code=204)


@router.get("/audit", tags=["admin"], response_model=AuditPage, summary="Audit log")
def audit_log(
    session: SessionDep,
    _: requires("audit:read"),
    actor: Annotated[str | None, Query(max_length=320)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Return audit entries newest first: who did what to which target, when and from where."""
    conditions = []
    if actor:
        conditions.append(AuditEntry.actor == actor)
    if action:
        conditions.append(AuditEntry.action == action)
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(*conditions))
    rows = session.scalars(
        sa.select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        {c: getattr(r, c) for c in ("id", "at", "actor", "action", "target", "ip", "detail")}
        for r in rows
    ]
    return {"total": total or 0, "limit": limit, "offset": offset, "items": items}


def _user_out(user: User) -> dict[str, Any]:
    keys = ("id", "email", "role", "active", "locked_until", "last_login_at")
    return {k: getattr(user, k) for k in keys}


@router.get("/users", tags=["admin"], response_model=list[UserOut], summary="List users")
def list_users(session: SessionDep, _: requires("users:manage")) -> list[dict[str, Any]]:
    """Return staff users."""
    return [_user_out(u) for u in session.scalars(sa.select(User).order_by(User.email))]


@router.post(
    "/users",
    tags=["admin"],
    response_model=UserOut,
    status_code=201,
    summary="Add user",
    responses=responses(409),
)
def create_user(
    body: UserIn, request: Request, session: SessionDep, principal: requires("users:manage")
) -> dict[str, Any]:
    """Create a staff user."""
    user = service.create_user(session, body.email, body.password, body.role)
    service.audit(
        session,
        actor=principal.subject,
        action="user_create",
        target=user.email,
        ip=client_ip(request),
    )
    return _user_out(user)


@router.get("/keys", tags=["admin"], summary="List tracking write keys")
def list_keys(session: SessionDep, _: requires("keys:manage")) -> list[dict[str, Any]]:
    """Return write keys by name and prefix (never the keys)."""
    rows = session.scalars(sa.select(WriteKey).order_by(WriteKey.name))
    return [
        {"name": k.name, "prefix": k.prefix, "created_at": k.created_at, "revoked_at": k.revoked_at}
        for k in rows
    ]


@router.post(
    "/keys",
    tags=["admin"],
    status_code=201,
    summary="Create a tracking write key",
    responses=responses(409),
)
def create_key(
    name: Annotated[str, Body(embed=True, min_length=1, max_length=128, pattern=NON_BLANK)],
    request: Request,
    session: SessionDep,
    principal: requires("keys:manage"),
) -> dict[str, Any]:
    """Create a write key; the key is shown only in this response."""
    row, key = service.create_write_key(session, name)
    service.audit(
        session,
        actor=principal.subject,
        action="write_key_create",
        target=row.name,
        ip=client_ip(request),
    )
    return {"name": row.name, "write_key": key}
