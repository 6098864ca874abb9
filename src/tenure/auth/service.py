"""Staff users, machine clients, write keys, logins with lock-out, and the audit log."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tenure import clock
from tenure.auth.models import ApiClient, AuditEntry, RefreshToken, User, WriteKey
from tenure.auth.roles import ROLES
from tenure.auth.tokens import (
    AuthenticationFailed,
    Principal,
    digest,
    find_refresh_token,
    issue_tokens,
    principal_from_token,
    revoke_access,
    revoke_family,
)
from tenure.config import Settings, get_settings
from tenure.db.session import session_scope
from tenure.errors import InputError, NotFound

__all__ = [
    "AccountLocked",
    "AuthenticationFailed",
    "Principal",
    "audit",
    "authenticate",
    "authenticate_client",
    "create_client",
    "create_user",
    "create_write_key",
    "issue_tokens",
    "principal_from_token",
    "refresh_tokens",
    "revoke_access",
    "user_principal",
    "write_key_valid",
]

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("tenure-timing-equaliser")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD = 10


class AccountLocked(AuthenticationFailed):
    """Too many failed logins: the user is locked out for a while (HTTP 401)."""


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record who did what to which target, from where (committed with the caller's work)."""
    entry = AuditEntry(
        at=clock.now(), actor=actor, action=action, target=target, ip=ip, detail=detail or {}
    )
    session.add(entry)
    return entry


def _apart(session: Session, work: Callable[[Session], None]) -> None:
    """Run work in its own committed transaction, so a later error cannot roll it back."""
    with session_scope(session.get_bind()) as other:
        work(other)


def create_user(session: Session, email: str, password: str, role: str) -> User:
    """Create a staff user with an argon2 password hash."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InputError(f"not an email address: {email!r}")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must be at least {MIN_PASSWORD} characters long")
    _check_role(role)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InputError(f"a user with email {email} already exists")
    user = User(
        email=email,
        password_hash=_HASHER.hash(password),
        role=role,
        active=True,
        created_at=clock.now(),
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def _record_failure(session: Session, email: str, ip: str | None, settings: Settings) -> bool:
    """Count a failed login apart from the caller's transaction; return whether it locked."""
    locked = False

    def work(other: Session) -> None:
        nonlocal locked
        now = clock.now()
        window = timedelta(minutes=settings.login_lockout_minutes)
        user = other.scalar(select(User).where(User.email == email))
        if user is not None:
            if user.first_failure_at is None or now - user.first_failure_at > window:
                user.failed_logins, user.first_failure_at = 0, now
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.locked_until, locked = now + window, True
        action = "login_locked" if locked else "login_failed"
        audit(other, actor=email, action=action, target=email, ip=ip)

    _apart(session, work)
    return locked


def authenticate(
    session: Session, email: str, password: str, *, ip: str | None, settings: Settings | None = None
) -> User:
    """Return the user whose email and password match; raise AuthenticationFailed otherwise."""
    settings = settings or get_settings()
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    now = clock.now()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        _apart(session, lambda o: audit(o, actor=email, action="login_refused_locked", ip=ip))
        raise AccountLocked("too many failed logins: try again later")
    ok = _verify(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        if _record_failure(session, email, ip, settings):
            raise AccountLocked("too many failed logins: try again later")
        raise AuthenticationFailed("wrong email or password")
    user.failed_logins, user.first_failure_at, user.locked_until = 0, None, None
    user.last_login_at = now
    audit(session, actor=email, action="login", target=email, ip=ip)
    return user


def user_principal(user: User) -> Principal:
    """Return the Principal of a staff user."""
    return Principal(subject=user.email, role=user.role, kind="user", user_id=user.id)


def client_principal(client: ApiClient) -> Principal:
    """Return the Principal of a machine client."""
    return Principal(subject=client.client_id, role=client.role, kind="client", client_id=client.id)


def create_client(session: Session, name: str, role: str) -> tuple[ApiClient, str]:
    """Create a machine client; return it with its secret (shown once, stored hashed)."""
    if not name.strip():
        raise InputError("a client needs a name")
    secret = "cs_" + secrets.token_urlsafe(32)
    client = ApiClient(
        client_id="tc_" + secrets.token_hex(8),
        name=name.strip(),
        secret_hash=_HASHER.hash(secret),
        role=_check_role(role),
        active=True,
        created_at=clock.now(),
    )
    session.add(client)
    session.flush()
    return client, secret


def authenticate_client(
    session: Session, client_id: str, secret: str, *, ip: str | None
) -> ApiClient:
    """Return the active client matching id and secret; raise AuthenticationFailed otherwise."""
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    ok = _verify(client.secret_hash if client else _DUMMY_HASH, secret)
    if client is None or not ok or not client.active:
        _apart(session, lambda o: audit(o, actor=client_id, action="login_failed", ip=ip))
        raise AuthenticationFailed("wrong client id or secret")
    audit(session, actor=client_id, action="login", target=client.name, ip=ip)
    return client


def refresh_tokens(
    settings: Settings, session: Session, token: str, *, ip: str | None
) -> dict[str, Any]:
    """Rotate a refresh token; a reused one revokes its whole login (theft detection)."""
    stored = find_refresh_token(session, token)
    now = clock.now()
    if stored is None or stored.expires_at <= now:
        raise AuthenticationFailed("the refresh token is not valid")
    if stored.used_at is not None or stored.revoked_at is not None:
        family = stored.family
        _apart(session, lambda o: (revoke_family(o, family), _reuse_audit(o, family, ip)))
        raise AuthenticationFailed("the refresh token was already used; the login is revoked")
    principal = _principal_of(session, stored.kind, stored.user_id, stored.client_id)
    stored.used_at = now
    audit(session, actor=principal.subject, action="token_refresh", ip=ip)
    return issue_tokens(settings, session, principal, family=stored.family)


def _reuse_audit(session: Session, family: str, ip: str | None) -> None:
    audit(session, actor="unknown", action="refresh_token_reuse", target=family, ip=ip)


def _principal_of(
    session: Session, kind: str, user_id: int | None, client_id: int | None
) -> Principal:
    if kind == "user" and user_id is not None:
        user = session.get(User, user_id)
        if user is not None and user.active:
            return user_principal(user)
    if kind == "client" and client_id is not None:
        client = session.get(ApiClient, client_id)
        if client is not None and client.active:
            return client_principal(client)
    raise AuthenticationFailed("the refresh token's owner is no longer active")


def create_write_key(session: Session, name: str) -> tuple[WriteKey, str]:
    """Create a Segment-style write key; return it with the key itself (shown once)."""
    name = name.strip()
    if not name:
        raise InputError("a write key needs a name")
    if session.scalar(select(WriteKey.id).where(WriteKey.name == name)) is not None:
        raise InputError(f"a write key named {name!r} already exists")
    key = "wk_" + secrets.token_urlsafe(24)
    row = WriteKey(name=name, key_digest=digest(key), prefix=key[:8], created_at=clock.now())
    session.add(row)
    session.flush()
    return row, key


def write_key_valid(session: Session, key: str) -> WriteKey | None:
    """Return the unrevoked write key matching key, if any."""
    row = session.scalar(select(WriteKey).where(WriteKey.key_digest == digest(key)))
    return row if row is not None and row.revoked_at is None else None


def revoke_write_key(session: Session, name: str) -> WriteKey:
    """Revoke a write key by name; tracking calls with it are refused from now on."""
    row = session.scalar(select(WriteKey).where(WriteKey.name == name.strip()))
    if row is None:
        raise NotFound(f"no write key named {name!r}")
    row.revoked_at = row.revoked_at or clock.now()
    return row


def disable_user(session: Session, email: str) -> User:
    """Disable a staff user and revoke their refresh tokens (access tokens lapse within minutes)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email!r}")
    user.active = False
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return user


def disable_client(session: Session, client_id: str) -> ApiClient:
    """Disable a machine client; it can no longer get tokens."""
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id.strip()))
    if client is None:
        raise NotFound(f"no client with id {client_id!r}")
    client.active = False
    return client
