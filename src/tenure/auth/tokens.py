"""JWT access tokens, rotating refresh tokens and the signing key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from tenure import clock
from tenure.auth.keys import signing_key, signing_keys
from tenure.auth.models import ApiClient, RefreshToken, RevokedToken, User
from tenure.config import Settings
from tenure.errors import TenureError

ALGORITHM = "HS256"
ISSUER = "tenure"


class AuthenticationFailed(TenureError):
    """Credentials or a token were not accepted (HTTP 401)."""

    exit_code = 2


class InvalidClient(AuthenticationFailed):
    """Client credentials sent with a grant were wrong (RFC 6749 invalid_client, HTTP 401)."""

    def __init__(self, message: str, *, challenge: str = "Bearer") -> None:
        super().__init__(message)
        self.challenge = challenge


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff user or a machine client, with its role."""

    subject: str
    role: str
    kind: str  # user | client
    user_id: int | None = None
    client_id: int | None = None
    jti: str | None = None
    family: str | None = None
    expires_at: datetime | None = None


def digest(token: str) -> str:
    """Return the SHA-256 hex digest under which a random token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _access_token(settings: Settings, principal: Principal, family: str) -> tuple[str, int]:
    now = clock.now()
    lifetime = settings.access_token_minutes * 60
    claims = {
        "iss": ISSUER,
        "sub": principal.subject,
        "role": principal.role,
        "kind": principal.kind,
        "uid": principal.user_id,
        "cid": principal.client_id,
        "fam": family,
        "jti": secrets.token_hex(12),
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + lifetime,
    }
    return jwt.encode(claims, signing_key(settings), algorithm=ALGORITHM), lifetime


def issue_tokens(
    settings: Settings,
    session: Session,
    principal: Principal,
    *,
    family: str | None = None,
    refresh: bool = True,
) -> dict[str, Any]:
    """Return an OAuth2 token response: a JWT access token and (unless refresh=False) a refresh token."""
    family = family or secrets.token_hex(12)
    access, lifetime = _access_token(settings, principal, family)
    response: dict[str, Any] = {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": lifetime,
        "role": principal.role,
    }
    if refresh:
        response["refresh_token"] = _store_refresh_token(settings, session, principal, family)
    return response


def _store_refresh_token(
    settings: Settings, session: Session, principal: Principal, family: str
) -> str:
    token = "rt_" + secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        RefreshToken(
            token_digest=digest(token),
            family=family,
            kind=principal.kind,
            user_id=principal.user_id,
            client_id=principal.client_id,
            issued_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    session.flush()
    return token


def _verified_claims(settings: Settings, token: str) -> dict[str, Any]:
    """Return a JWT's claims if one of the signing keys (newest first) signed it."""
    for key in signing_keys(settings):
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "require": ["exp", "iat", "sub", "jti"],
                    "verify_exp": False,  # checked by the caller against tenure.clock
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            break
    raise AuthenticationFailed("the access token is not valid")


def decode_access_token(settings: Settings, token: str) -> Principal:
    """Verify a JWT's signature and expiry and return its Principal (no revocation check)."""
    claims = _verified_claims(settings, token)
    if claims["exp"] <= clock.now().timestamp():
        raise AuthenticationFailed("the access token has expired")
    return Principal(
        subject=str(claims["sub"]),
        role=str(claims.get("role", "")),
        kind=str(claims.get("kind", "user")),
        user_id=claims.get("uid"),
        client_id=claims.get("cid"),
        jti=str(claims["jti"]),
        family=claims.get("fam"),
        expires_at=datetime.fromtimestamp(claims["exp"], tz=clock.now().tzinfo),
    )


def principal_from_token(settings: Settings, session: Session, token: str) -> Principal:
    """Return the Principal of a valid, unrevoked access token whose owner is still active.

    The role is the owner's current one, so a disabled or demoted user loses its rights at
    once, not when the token expires.
    """
    principal = decode_access_token(settings, token)
    if session.get(RevokedToken, principal.jti) is not None:
        raise AuthenticationFailed("the access token has been revoked")
    return replace(principal, role=_current_role(session, principal))


def _current_role(session: Session, principal: Principal) -> str:
    """Return the role the token's owner holds now; raise AuthenticationFailed if inactive."""
    owner: User | ApiClient | None = None
    if principal.kind == "user" and principal.user_id is not None:
        owner = session.get(User, principal.user_id)
    elif principal.kind == "client" and principal.client_id is not None:
        owner = session.get(ApiClient, principal.client_id)
    if owner is None or not owner.active:
        raise AuthenticationFailed("the access token's owner is no longer active")
    return owner.role


def _owner_statement(owner: type[User] | type[ApiClient]) -> Any:
    """Return the one query of a token's owner: its role, whether active, whether revoked."""
    revoked = select(RevokedToken.jti).where(RevokedToken.jti == bindparam("jti")).exists()
    return select(owner.role, owner.active, revoked.label("revoked")).where(
        owner.id == bindparam("owner")
    )


OWNER_STATEMENTS = {"user": _owner_statement(User), "client": _owner_statement(ApiClient)}


def current_role_on(connection: Connection, principal: Principal) -> str:
    """Return the role a decoded token's owner holds now, in one query (for hot paths).

    The same checks as principal_from_token: a revoked token, or an owner that is gone or
    inactive, raises AuthenticationFailed.
    """
    owner = principal.user_id if principal.kind == "user" else principal.client_id
    statement = OWNER_STATEMENTS.get(principal.kind)
    found = None
    if statement is not None and owner is not None:
        found = connection.execute(statement, {"jti": principal.jti or "", "owner": owner}).first()
    if found is not None and found.revoked:
        raise AuthenticationFailed("the access token has been revoked")
    if found is None or not found.active:
        raise AuthenticationFailed("the access token's owner is no longer active")
    return found.role


def revoke_family(session: Session, family: str) -> int:
    """Revoke every unrevoked refresh token of a login; return how many."""
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return result.rowcount or 0


def revoke_access(session: Session, principal: Principal) -> None:
    """Revoke an access token and the refresh tokens of its login (logout)."""
    if principal.jti and session.get(RevokedToken, principal.jti) is None:
        expires = principal.expires_at or clock.now()
        session.add(RevokedToken(jti=principal.jti, family=principal.family, expires_at=expires))
    if principal.family:
        revoke_family(session, principal.family)
    session.flush()


def find_refresh_token(session: Session, token: str) -> RefreshToken | None:
    """Return the stored refresh token matching token, if any."""
    return session.scalar(select(RefreshToken).where(RefreshToken.token_digest == digest(token)))
