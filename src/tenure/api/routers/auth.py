"""OAuth2 token endpoint (password, client_credentials, refresh_token grants) and logout."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel, Field

from tenure.api.deps import PrincipalDep, SessionDep, SettingsDep, client_ip
from tenure.auth import service
from tenure.auth.roles import permissions_of
from tenure.auth.tokens import AuthenticationFailed, revoke_access
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


@router.post(
    "/token",
    response_model=TokenOut,
    response_model_exclude_none=True,
    summary="Get an access token (OAuth2)",
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
) -> dict[str, Any]:
    """Exchange a password, client credentials or a refresh token for tokens."""
    del scope  # roles, not scopes, decide what a token may do
    ip = client_ip(request)
    response.headers["Cache-Control"] = "no-store"
    if grant_type == "password":
        user = service.authenticate(
            session,
            _required(username, "username", grant_type),
            _required(password, "password", grant_type),
            ip=ip,
            settings=settings,
        )
        return service.issue_tokens(settings, session, service.user_principal(user))
    if grant_type == "client_credentials":
        basic = _basic_credentials(request)
        cid, secret = basic if basic else (client_id, client_secret)
        client = service.authenticate_client(
            session,
            _required(cid, "client_id", grant_type),
            _required(secret, "client_secret", grant_type),
            ip=ip,
        )
        principal = service.client_principal(client)
        return service.issue_tokens(settings, session, principal, refresh=False)  # RFC 6749 4.4.3
    token_value = _required(refresh_token, "refresh_token", grant_type)
    return service.refresh_tokens(settings, session, token_value, ip=ip)


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
