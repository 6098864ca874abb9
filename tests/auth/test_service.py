"""Auth services: argon2 hashes, lock-out windows, token expiry and revocation, key files."""

from __future__ import annotations

import stat
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tenure.auth import service
from tenure.auth.models import AuditEntry, User, WriteKey
from tenure.auth.roles import PERMISSIONS, ROLES, can, permissions_of
from tenure.auth.tokens import AuthenticationFailed, principal_from_token, signing_key
from tenure.db.session import session_scope
from tenure.errors import ConfigError, InputError

PASSWORD = "a long password 1"


@pytest.fixture
def user(engine: Any) -> str:
    """Create a csm user and return its email."""
    with session_scope(engine) as session:
        service.create_user(session, "Csm@Example.com", PASSWORD, "csm")
    return "csm@example.com"


def _login(engine: Any, settings: Any, email: str, password: str) -> User:
    with session_scope(engine) as session:
        return service.authenticate(session, email, password, ip="10.0.0.9", settings=settings)


def test_passwords_are_argon2_hashes(engine: Any, user: str) -> None:
    """The stored hash is argon2id and never the password; emails are lower-cased."""
    with session_scope(engine) as session:
        stored = session.scalar(sa.select(User).where(User.email == user))
        assert stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash


def test_create_user_checks_input(engine: Any, user: str) -> None:
    """Bad emails, short passwords, unknown roles and duplicates are InputErrors."""
    bad = [
        ("not-an-email", PASSWORD, "csm", "not an email"),
        ("x@example.com", "short", "csm", "at least 10"),
        ("x@example.com", PASSWORD, "owner", "role must be one of"),
        ("CSM@example.com", PASSWORD, "csm", "already exists"),
    ]
    for email, password, role, message in bad:
        with pytest.raises(InputError, match=message), session_scope(engine) as session:
            service.create_user(session, email, password, role)


def test_lockout_window_and_expiry(engine: Any, settings: Any, user: str, frozen_clock) -> None:
    """Failures spread beyond the window do not lock; N within it do, until the lock expires."""
    window = timedelta(minutes=settings.login_lockout_minutes)
    for _ in range(settings.login_max_failures - 1):
        with pytest.raises(AuthenticationFailed):
            _login(engine, settings, user, "wrong password")
    frozen_clock.advance(window + timedelta(seconds=1))  # the count starts again
    for _ in range(settings.login_max_failures - 1):
        with pytest.raises(AuthenticationFailed):
            _login(engine, settings, user, "wrong password")
    assert _login(engine, settings, user, PASSWORD).email == user  # not locked, count resets
    for _ in range(settings.login_max_failures):
        with pytest.raises(AuthenticationFailed):
            _login(engine, settings, user, "wrong password")
    with pytest.raises(service.AccountLocked):
        _login(engine, settings, user, PASSWORD)
    frozen_clock.advance(window + timedelta(seconds=1))
    assert _login(engine, settings, user, PASSWORD).email == user
    with session_scope(engine) as session:
        ips = set(session.scalars(sa.select(AuditEntry.ip)))
    assert ips == {"10.0.0.9"}


def test_access_tokens_expire_by_the_clock(
    engine: Any, settings: Any, user: str, frozen_clock
) -> None:
    """An access token works until access_token_minutes have passed, then it is refused."""
    settings = settings.model_copy(update={"secret_key": "k" * 40})
    with session_scope(engine) as session:
        principal = service.user_principal(_login(engine, settings, user, PASSWORD))
        token = service.issue_tokens(settings, session, principal)["access_token"]
    frozen_clock.advance(timedelta(minutes=settings.access_token_minutes) - timedelta(seconds=1))
    with session_scope(engine) as session:
        assert principal_from_token(settings, session, token).role == "csm"
    frozen_clock.advance(timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed, match="expired"), session_scope(engine) as session:
        principal_from_token(settings, session, token)


def test_refresh_tokens_expire(engine: Any, settings: Any, user: str, frozen_clock) -> None:
    """A refresh token older than refresh_token_days is refused."""
    settings = settings.model_copy(update={"secret_key": "k" * 40})
    with session_scope(engine) as session:
        principal = service.user_principal(_login(engine, settings, user, PASSWORD))
        refresh = service.issue_tokens(settings, session, principal)["refresh_token"]
    frozen_clock.advance(timedelta(days=settings.refresh_token_days, seconds=1))
    with pytest.raises(AuthenticationFailed), session_scope(engine) as session:
        service.refresh_tokens(settings, session, refresh, ip=None)


def test_generated_signing_key_is_private(settings: Any) -> None:
    """Without secret_key a random key is written to DATA_DIR/secret.key with mode 0600."""
    key = signing_key(settings)
    path = settings.data_dir / "secret.key"
    assert path.read_text().strip() == key and len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing_key(settings) == key
    with pytest.raises(ConfigError, match="at least 32"):
        signing_key(settings.model_copy(update={"secret_key": "short"}))


def test_write_keys_are_stored_as_digests(engine: Any) -> None:
    """A write key is shown once; only its SHA-256 digest is stored; revoked keys fail."""
    with session_scope(engine) as session:
        row, key = service.create_write_key(session, "website")
        assert key not in (row.key_digest, row.prefix) and key.startswith(row.prefix)
        assert service.write_key_valid(session, key) is not None
        assert service.write_key_valid(session, key + "x") is None
        session.get(WriteKey, row.id).revoked_at = row.created_at
        assert service.write_key_valid(session, key) is None


def test_permission_matrix_shape() -> None:
    """Admins hold every permission; analysts and viewers change nothing."""
    assert set(permissions_of("admin")) == set(PERMISSIONS)
    for role in ("analyst", "viewer"):
        assert not any(p.endswith((":write", ":act", ":manage")) for p in permissions_of(role))
    assert can("csm", "alerts:act") and not can("csm", "alerts:act_any")
    assert not can("manager", "users:manage") and not can("admin", "no:such")
    assert ROLES == ("admin", "manager", "csm", "analyst", "viewer")
