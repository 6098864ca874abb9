"""`tenure users|clients|keys` and the argument checks of `tenure serve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tenure.auth import service
from tenure.auth.models import ApiClient, User
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope


def _run(cli: Any, data_dir: Path, *args: str, env: dict | None = None) -> Any:
    return cli.invoke(app, ["--data-dir", str(data_dir), *args], env=env or {})


def test_users_create_and_list(cli: Any, tmp_path: Path) -> None:
    """A user is created with TENURE_PASSWORD and listed; without a password it is refused."""
    data = tmp_path / "data"
    created = _run(
        cli,
        data,
        "users",
        "create",
        "Ops@Example.com",
        "--role",
        "admin",
        env={"TENURE_PASSWORD": "a long password 1"},
    )
    assert created.exit_code == 0, created.output
    assert "ops@example.com (admin)" in created.output
    listed = _run(cli, data, "users", "list", "--json")
    assert [u["email"] for u in json.loads(listed.output)] == ["ops@example.com"]
    no_password = _run(cli, data, "users", "create", "b@example.com", "--role", "viewer")
    assert no_password.exit_code == 2 and "TENURE_PASSWORD" in no_password.output
    bad_role = _run(
        cli,
        data,
        "users",
        "create",
        "c@example.com",
        "--role",
        "boss",
        env={"TENURE_PASSWORD": "a long password 1"},
    )
    assert bad_role.exit_code == 2 and "role must be one of" in bad_role.output
    again = _run(
        cli, data, "users", "create", "ops@example.com", env={"TENURE_PASSWORD": "another pass 2"}
    )
    assert again.exit_code == 2 and "already exists" in again.output
    tolerated = _run(cli, data, "users", "create", "ops@example.com", "--exist-ok")
    assert tolerated.exit_code == 0 and "exists (unchanged)" in tolerated.output
    engine = get_engine(Settings(data_dir=data))
    with session_scope(engine) as session:
        user = session.scalar(sa.select(User))
        assert (
            service.authenticate(session, user.email, "a long password 1", ip=None).role == "admin"
        )
    engine.dispose()


def test_clients_create_prints_the_secret_once(cli: Any, tmp_path: Path) -> None:
    """The client id and secret are printed as JSON; the store holds only a hash."""
    data = tmp_path / "data"
    result = _run(cli, data, "clients", "create", "crm-sync", "--role", "analyst")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    engine = get_engine(Settings(data_dir=data))
    with session_scope(engine) as session:
        stored = session.scalar(sa.select(ApiClient))
        assert stored.client_id == printed["client_id"]
        assert printed["client_secret"] not in stored.secret_hash
        found = service.authenticate_client(
            session, printed["client_id"], printed["client_secret"], ip=None
        )
        assert found.role == "analyst"
    engine.dispose()
    listed = json.loads(_run(cli, data, "clients", "list", "--json").output)
    assert "client_secret" not in listed[0]


def test_keys_create(cli: Any, tmp_path: Path) -> None:
    """A write key is printed once and listed by prefix; the same name twice is refused."""
    data = tmp_path / "data"
    key = json.loads(_run(cli, data, "keys", "create", "website").output)["write_key"]
    listed = json.loads(_run(cli, data, "keys", "list", "--json").output)
    assert listed == [{"name": "website", "prefix": key[:8], "revoked": False}]
    again = _run(cli, data, "keys", "create", "website")
    assert again.exit_code == 2 and "already exists" in again.output
    assert _run(cli, data, "keys", "revoke", "website").exit_code == 0
    assert json.loads(_run(cli, data, "keys", "list", "--json").output)[0]["revoked"] is True
    assert _run(cli, data, "keys", "revoke", "nope").exit_code == 4


def test_disabled_user_and_client_cannot_log_in(cli: Any, tmp_path: Path) -> None:
    """users disable / clients disable stop logins, refreshes and client tokens."""
    data = tmp_path / "data"
    env = {"TENURE_PASSWORD": "a long password 1"}
    _run(cli, data, "users", "create", "gone@example.com", "--role", "csm", env=env)
    printed = json.loads(_run(cli, data, "clients", "create", "old-sync").output)
    engine = get_engine(Settings(data_dir=data))
    settings = Settings(data_dir=data, secret_key="k" * 40)
    with session_scope(engine) as session:
        user = service.authenticate(session, "gone@example.com", "a long password 1", ip=None)
        refresh = service.issue_tokens(settings, session, service.user_principal(user))
    assert _run(cli, data, "users", "disable", "gone@example.com").exit_code == 0
    assert _run(cli, data, "clients", "disable", printed["client_id"]).exit_code == 0
    with session_scope(engine) as session:
        with pytest.raises(service.AuthenticationFailed):
            service.authenticate(session, "gone@example.com", "a long password 1", ip=None)
        with pytest.raises(service.AuthenticationFailed):
            service.refresh_tokens(settings, session, refresh["refresh_token"], ip=None)
        with pytest.raises(service.AuthenticationFailed):
            service.authenticate_client(
                session, printed["client_id"], printed["client_secret"], ip=None
            )
    engine.dispose()


def test_serve_refuses_half_a_tls_pair(cli: Any, tmp_path: Path) -> None:
    """--ssl-certfile without --ssl-keyfile (or a missing file) is a clear input error."""
    data = tmp_path / "data"
    half = _run(cli, data, "serve", "--ssl-certfile", str(tmp_path / "c.pem"))
    assert half.exit_code == 2 and "go together" in half.output
    missing = _run(
        cli,
        data,
        "serve",
        "--ssl-certfile",
        str(tmp_path / "c.pem"),
        "--ssl-keyfile",
        str(tmp_path / "k.pem"),
    )
    assert missing.exit_code == 2 and "not found" in missing.output
