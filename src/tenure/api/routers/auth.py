"""OAuth2 token endpoint (password, client_credentials, refresh_token grants) and logout."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tenure.api.deps import PrincipalDep, SessionDep, SettingsDep, client_ip
from tenure.api.errors import problem, responses
from tenure.auth import service
from tenure.auth.roles import permissions_of
from tenure.auth.throttle import TooManyAttempts
from tenure.auth.tokens import AuthenticationFailed, InvalidClient, revoke_access
from tenure.config import Settings
from tenure.errors import InputError

router = APIRouter(prefix="/v1/auth", tags=["auth"])

GrantType = Literal["password", "client_credentials", "refresh_token"]


class TokenOut(BaseModel):
    """An OAuth2 token response."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str | None = Field(
        default=None, description="Not issued to machine clients (client-credentials grant)"
    )
    role: str


class MeOut(BaseModel):
    """The caller as the API sees it."""

    subject: str
    kind: str
    role: str
    permissions: list[str]


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InputError("the Authorization header is not valid HTTP basic") from None
    user, _, password = decoded.partition(":")
    return user, password


def _required(value: str | None, name: str, grant: str) -> str:
    if not value:
        raise InputError(f"grant_type={grant} needs the form field {name!r}")
    return value


def _check_client(
    request: Request, session: Session, client_id: str | None, secret: str | None, ip: str | None
) -> None:
    """Refuse a grant whose client credentials, when given, are wrong (RFC 6749 5.2)."""
    basic = _basic_credentials(request)
    cid, secret = basic if basic else (client_id, secret)
    if not cid and not secret:
        return  # none given (empty form fields, as some OAuth2 clients send, count as none)
    try:
        service.verify_client(session, cid or "", secret or "", ip=ip)
    except AuthenticationFailed:
        challenge = 'Basic realm="tenure"' if basic else "Bearer"
        message = "invalid_client: wrong client id or secret"
        raise InvalidClient(message, challenge=challenge) from None


def _password_grant(
    request: Request, session: Session, settings: Settings, form: dict[str, str | None]
) -> dict[str, Any]:
    """Log a user in: throttled per address and username, then client and password checked."""
    username = _required(form["username"], "username", "password")
    password = _required(form["password"], "password", "password")
    ip = client_ip(request)
    throttle = request.app.state.login_throttle
    throttle.admit(ip, username)
    _check_client(request, session, form["client_id"], form["client_secret"], ip)
    user = service.authenticate(session, username, password, ip=ip, settings=settings)
    throttle.succeeded(ip, username)
    return service.issue_tokens(settings, session, service.user_principal(user))


def _client_grant(
    request: Request, session: Session, settings: Settings, form: dict[str, str | None]
) -> dict[str, Any]:
    basic = _basic_credentials(request)
    cid, secret = basic if basic else (form["client_id"], form["client_secret"])
    client = service.authenticate_client(
        session,
        _required(cid, "client_id", "client_credentials"),
        _required(secret, "client_secret", "client_credentials"),
        ip=client_ip(request),
    )
    principal = service.client_principal(client)
    return service.issue_tokens(settings, session, principal, refresh=False)  # RFC 6749 4.4.3


def _refresh_grant(
    request: Request, session: Session, settings: Settings, form: dict[str, str | None]
) -> dict[str, Any]:
    ip = client_ip(request)
    token_value = _required(form["refresh_token"], "refresh_token", "refresh_token")
    _check_client(request, session, form["client_id"], form["client_secret"], ip)
    return service.refresh_tokens(settings, session, token_value, ip=ip)


GRANTS = {
    "password": _password_grant,
    "client_credentials": _client_grant,
    "refresh_token": _refresh_grant,
}


@router.post(
    "/token",
    response_model=TokenOut,
    response_model_exclude_none=True,
    summary="Get an access token (OAuth2)",
    responses=responses(400, 401, 429),
)
def token(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    grant_type: Annotated[GrantType, Form()],
    username: Annotated[str | None, Form(max_length=320)] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=1024)] = None,
    refresh_token: Annotated[str | None, Form(max_length=1024)] = None,
    scope: Annotated[str | None, Form(max_length=1024)] = None,
) -> Any:
    """Exchange a password, client credentials or a refresh token for tokens."""
    del scope  # roles, not scopes, decide what a token may do
    response.headers["Cache-Control"] = "no-store"
    form = {
        "username": username,
        "password": password,
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    try:
        return GRANTS[grant_type](request, session, settings, form)
    except TooManyAttempts as exc:
        headers = {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"}
        return problem(429, str(exc), headers=headers)


@router.post("/logout", status_code=204, summary="Revoke this access token and its login")
def logout(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """Revoke the caller's access token and every refresh token of the same login."""
    revoke_access(session, principal)
    service.audit(session, actor=principal.subject, action="logout", ip=client_ip(request))
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, summary="Who am I")
def me(principal: PrincipalDep) -> MeOut:
    """Return the caller's subject, role and permissions."""
    if not principal.role:
        raise AuthenticationFailed("the token carries no role")
    return MeOut(
        subject=principal.subject,
        kind=principal.kind,
        role=principal.role,
        permissions=permissions_of(principal.role),
    )
