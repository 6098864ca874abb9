"""Dashboard sessions: a signed, HttpOnly, SameSite=Lax cookie with a per-session CSRF token.

The cookie holds a JWT signed with a key derived from the app's signing key for this one
purpose (so an API access token is never accepted as a session, nor the reverse). Every
request re-reads the user, so a deactivated user or a changed role takes effect at once, and
checks the session's id against the revoked ones, so a logged-out cookie is dead at once.
Before login, a random token in its own cookie must match the login form's hidden field
(double submit); after login, forms and HTMX requests carry the session's token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from fastapi import Request, Response
from sqlalchemy.orm import Session

from tenure import clock
from tenure.auth.keys import signing_key, signing_keys
from tenure.auth.models import RevokedToken, User
from tenure.config import Settings

SESSION_COOKIE = "tenure_session"
LOGIN_CSRF_COOKIE = "tenure_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_HOURS = 8
AUDIENCE = "tenure-dashboard"


@dataclass(frozen=True)
class Viewer:
    """The logged-in staff user looking at the dashboard."""

    user_id: int
    email: str
    role: str
    csrf: str
    session_id: str = ""
    expires_at: datetime | None = None


def _derived(base: str) -> str:
    return hmac.new(base.encode("utf-8"), b"tenure dashboard session", hashlib.sha256).hexdigest()


def session_key(settings: Settings) -> str:
    """Return the key that signs dashboard sessions (derived from the app's signing key)."""
    return _derived(signing_key(settings))


def session_keys(settings: Settings) -> list[str]:
    """Return the keys that verify sessions: the signing one, then those of retired keys."""
    return [_derived(key) for key in signing_keys(settings)]


def _session_claims(settings: Settings, token: str) -> dict | None:
    """Return a session cookie's claims if one of the session keys signed it, else None."""
    for key in session_keys(settings):
        try:
            return jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                # Expiry is checked against tenure.clock by the caller, not PyJWT's wall clock.
                options={
                    "require": ["exp", "sub", "aud", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            return None
    return None


def start_session(settings: Settings, response: Response, user: User) -> None:
    """Set the session cookie for user on response."""
    now = clock.now()
    claims = {
        "sub": str(user.id),
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=SESSION_HOURS)).timestamp()),
        "csrf": secrets.token_urlsafe(24),
        "jti": secrets.token_hex(12),
    }
    token = jwt.encode(claims, session_key(settings), algorithm="HS256")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")


def end_session(
    settings: Settings, response: Response, viewer: Viewer, *, db_session: Session
) -> None:
    """Revoke the viewer's session (the cookie is refused from now on) and clear the cookie."""
    expires = viewer.expires_at or clock.now() + timedelta(hours=SESSION_HOURS)
    if viewer.session_id and db_session.get(RevokedToken, viewer.session_id) is None:
        db_session.add(RevokedToken(jti=viewer.session_id, family=None, expires_at=expires))
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.secure_cookies, httponly=True, samesite="lax"
    )


def read_viewer(settings: Settings, request: Request, db_session: Session) -> Viewer | None:
    """Return the viewer of a valid session cookie whose user is still active, else None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    claims = _session_claims(settings, token)
    if claims is None:
        return None
    if not isinstance(claims["exp"], int | float) or claims["exp"] <= clock.now().timestamp():
        return None
    session_id = str(claims["jti"])
    if db_session.get(RevokedToken, session_id) is not None:
        return None
    user = db_session.get(User, int(claims["sub"])) if str(claims["sub"]).isdigit() else None
    if user is None or not user.active:
        return None
    return Viewer(
        user_id=user.id,
        email=user.email,
        role=user.role,
        csrf=str(claims["csrf"]),
        session_id=session_id,
        expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
    )


def login_token(request: Request) -> str:
    """Return the pre-login CSRF token of the visitor's cookie, or a new one."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    return token if token and 20 <= len(token) <= 64 else secrets.token_urlsafe(24)


def set_login_cookie(settings: Settings, response: Response, token: str) -> None:
    """Set the pre-login CSRF cookie (double submit with the login form's hidden field)."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Compare two CSRF tokens in constant time (both must be present)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def csrf_valid(viewer: Viewer, request: Request, form_token: str | None) -> bool:
    """Tell whether a state-changing request carries the session's CSRF token."""
    given = form_token or request.headers.get(CSRF_HEADER)
    return tokens_match(viewer.csrf, given)
