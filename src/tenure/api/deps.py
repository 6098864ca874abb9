"""Request dependencies: the DB session (commits before the response), the caller, its rights."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from tenure.api.errors import Forbidden, Unavailable
from tenure.api.openapi import answers
from tenure.auth.roles import can
from tenure.auth.tokens import AuthenticationFailed, Principal, principal_from_token
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.health.refresher import ScoreRefresher

bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    """Yield a session that commits when the route returns, before the response is sent."""
    with session_scope(request.app.state.engine) as session:
        yield session


def get_settings_dep(request: Request) -> Settings:
    """Return the app's settings."""
    return request.app.state.settings


@answers(503)
def get_refresher(request: Request) -> ScoreRefresher:
    """Return the app's health refresher (started by the app's lifespan)."""
    refresher = getattr(request.app.state, "refresher", None)
    if refresher is None:
        raise Unavailable("the health refresher is not running: serve the app with its lifespan")
    return refresher


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RefresherDep = Annotated[ScoreRefresher, Depends(get_refresher)]


def client_ip(request: Request) -> str | None:
    """Return the caller's address as the server saw it."""
    return request.client.host if request.client else None


@answers(401)
def get_principal(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer)] = None,
) -> Principal:
    """Return the caller of a bearer access token; 401 when absent, invalid or revoked."""
    if not token:
        raise AuthenticationFailed("this endpoint needs an access token: Authorization: Bearer …")
    principal = principal_from_token(request.app.state.settings, session, token)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


@cache
def permission_dependency(permission: str) -> Callable[..., Principal]:
    """Return a dependency that yields the caller if its role holds permission, else 403."""

    @answers(403)
    def dependency(principal: PrincipalDep) -> Principal:
        if not can(principal.role, permission):
            raise Forbidden(f"the role {principal.role!r} does not have permission {permission!r}")
        return principal

    dependency.__name__ = "require_" + permission.replace(":", "_")
    return dependency


def requires(permission: str) -> type[Principal]:
    """Return an annotated Principal parameter type that requires permission."""
    return Annotated[Principal, Depends(permission_dependency(permission))]  # type: ignore[return-value]
