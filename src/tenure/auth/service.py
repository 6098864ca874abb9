"""Staff users, machine clients, write keys, logins with lock-out, and the audit log."""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, case, literal, or_, select, update
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
from tenure.db.base import UTCDateTime
from tenure.db.session import session_scope
from tenure.errors import InputError, NotFound, StateConflict
from tenure.privacy.audit import append_entry

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
    "verify_client",
    "write_key_valid",
]

_HASHER = PasswordHasher()
_HASH_SLOTS = threading.BoundedSemaphore(os.cpu_count() or 2)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD = 10
# One reply for a wrong password, an unknown email and a locked account: none reveals a user.
LOGIN_REFUSED = "wrong email or password, or too many failed logins: try again later"


class AccountLocked(AuthenticationFailed):
    """Too many failed logins: the user is locked out for a while (HTTP 401)."""


@dataclass(frozen=True)
class LoginAttempt:
    """A counted login attempt: the user it names (if any) and its number in the window."""

    user_id: int
    password_hash: str
    active: bool
    counted: int | None  # None: refused uncounted (locked, or every allowed attempt taken)


@lru_cache(maxsize=4)
def _dummy_hash_of(hasher: PasswordHasher) -> str:
    return hasher.hash("tenure-timing-equaliser")


def _dummy_hash() -> str:
    """Return a hash with the current cost, verified in place of a missing one (same timing)."""
    return _dummy_hash_of(_HASHER)


def _verify(password_hash: str, password: str) -> bool:
    """Check a password against its argon2 hash, at most one check per CPU at a time.

    A check costs its hash's memory (64 MiB by default) and a CPU for its duration: a flood
    of logins queues here instead of taking all memory, and other requests keep a CPU.
    """
    with _HASH_SLOTS:
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
    """Record who did what to which target, from where (committed with the caller's work).

    The entry is linked into the audit log's hash chain (tenure.privacy.audit).
    """
    return append_entry(session, actor=actor, action=action, target=target, ip=ip, detail=detail)


def _apart(session: Session, work: Callable[[Session], None]) -> None:
    """End the caller's transaction (it is about to fail) and run work in a committed one.

    The caller's connection goes back to the pool first, so a request never holds two.
    """
    session.rollback()
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
        raise StateConflict(f"a user with email {email} already exists")
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


def _count_attempt(engine: Engine, email: str, settings: Settings) -> LoginAttempt | None:
    """Count a login attempt before its password is checked, in one conditional update.

    The count starts again once the window has passed; no attempt is counted (or verified)
    while the user is locked or once login_max_failures attempts are counted in the window.
    """
    now = clock.now()
    stale = or_(
        User.first_failure_at.is_(None),
        User.first_failure_at <= now - timedelta(minutes=settings.login_lockout_minutes),
    )
    with session_scope(engine) as session:
        counted = session.execute(
            update(User)
            .where(User.email == email)
            .where(or_(User.locked_until.is_(None), User.locked_until <= now))
            .where(or_(stale, User.failed_logins < settings.login_max_failures))
            .values(
                failed_logins=case((stale, 1), else_=User.failed_logins + 1),
                first_failure_at=case(
                    (stale, literal(now, UTCDateTime())), else_=User.first_failure_at
                ),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        user = session.scalar(select(User).where(User.email == email))
    if user is None:
        return None
    number = user.failed_logins if counted == 1 else None
    return LoginAttempt(user.id, user.password_hash, user.active, number)


def _record_failure(
    engine: Engine, email: str, attempt: LoginAttempt | None, ip: str | None, settings: Settings
) -> None:
    """Audit a failed login; the attempt that used up the allowance locks the user."""
    now = clock.now()
    locked = attempt is not None and (attempt.counted or 0) >= settings.login_max_failures
    with session_scope(engine) as session:
        if attempt is not None and locked:
            until = now + timedelta(minutes=settings.login_lockout_minutes)
            session.execute(
                update(User).where(User.id == attempt.user_id).values(locked_until=until)
            )
        action = "login_locked" if locked else "login_failed"
        audit(session, actor=email, action=action, target=email, ip=ip)


def _refuse_locked(engine: Engine, email: str, password: str, ip: str | None) -> NoReturn:
    """Refuse a login of a locked user as slowly, and in the same words, as a wrong password."""
    _verify(_dummy_hash(), password)
    with session_scope(engine) as session:
        audit(session, actor=email, action="login_refused_locked", ip=ip)
    raise AccountLocked(LOGIN_REFUSED)


def _record_success(session: Session, user_id: int, ip: str | None, now: datetime) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise AuthenticationFailed(LOGIN_REFUSED)
    user.failed_logins, user.first_failure_at, user.locked_until = 0, None, None
    user.last_login_at = now
    audit(session, actor=user.email, action="login", target=user.email, ip=ip)
    return user


def authenticate(
    session: Session, email: str, password: str, *, ip: str | None, settings: Settings | None = None
) -> User:
    """Return the user whose email and password match; raise AuthenticationFailed otherwise.

    The attempt is counted (its own transaction) before the password is checked, the hash is
    verified holding no connection, and the outcome is written after: call this with a
    session that holds no connection yet.
    """
    settings = settings or get_settings()
    email = email.strip().lower()
    engine = session.get_bind()
    attempt = _count_attempt(engine, email, settings)
    if attempt is not None and attempt.counted is None:
        _refuse_locked(engine, email, password, ip)
    ok = _verify(attempt.password_hash if attempt else _dummy_hash(), password)
    if attempt is None or not ok or not attempt.active:
        _record_failure(engine, email, attempt, ip, settings)
        raise AuthenticationFailed(LOGIN_REFUSED)
    return _record_success(session, attempt.user_id, ip, clock.now())


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


def _find_client(engine: Engine, client_id: str) -> ApiClient | None:
    with session_scope(engine) as session:
        return session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def verify_client(session: Session, client_id: str, secret: str, *, ip: str | None) -> ApiClient:
    """Return the active client matching id and secret; raise AuthenticationFailed otherwise.

    The client is read in a short transaction of its own and the secret verified holding no
    connection: call this with a session that holds no connection yet.
    """
    client = _find_client(session.get_bind(), client_id)
    ok = _verify(client.secret_hash if client else _dummy_hash(), secret)
    if client is None or not ok or not client.active:
        _apart(session, lambda o: audit(o, actor=client_id, action="login_failed", ip=ip))
        raise AuthenticationFailed("wrong client id or secret")
    return client


def authenticate_client(
    session: Session, client_id: str, secret: str, *, ip: str | None
) -> ApiClient:
    """Return the active client matching id and secret (audited); raise AuthenticationFailed."""
    client = verify_client(session, client_id, secret, ip=ip)
    audit(session, actor=client_id, action="login", target=client.name, ip=ip)
    return client


def refresh_tokens(
    settings: Settings, session: Session, token: str, *, ip: str | None
) -> dict[str, Any]:
    """Rotate a refresh token; a reused one revokes its whole login (theft detection).

    The token is marked used by one conditional update, so of two simultaneous refreshes
    with the same token one wins and the other is treated as reuse.
    """
    stored = find_refresh_token(session, token)
    now = clock.now()
    if stored is None or stored.expires_at <= now:
        raise AuthenticationFailed("the refresh token is not valid")
    family = stored.family
    claimed = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == stored.id, RefreshToken.used_at.is_(None))
        .where(RefreshToken.revoked_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        _apart(session, lambda o: (revoke_family(o, family), _reuse_audit(o, family, ip)))
        raise AuthenticationFailed("the refresh token was already used; the login is revoked")
    principal = _principal_of(session, stored.kind, stored.user_id, stored.client_id)
    audit(session, actor=principal.subject, action="token_refresh", ip=ip)
    return issue_tokens(settings, session, principal, family=family)


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
        raise StateConflict(f"a write key named {name!r} already exists")
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
