"""Logins over HTTP: password and client-credentials grants, refresh rotation, logout, audit."""

from __future__ import annotations

import base64
import re
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.auth import service
from tenure.auth.models import AuditEntry, RefreshToken, User
from tenure.db.session import session_scope
from tenure.web.session import SESSION_COOKIE


def _token(client: TestClient, **form: str) -> Any:
    return client.post("/v1/auth/token", data=form)


def _me(client: TestClient, access: str) -> Any:
    return client.get("/v1/auth/me", headers={"Authorization": f"Bearer {access}"})


def _one_user(engine: Any, role: str = "analyst") -> str:
    with session_scope(engine) as session:
        service.create_user(session, "ann@example.com", "a long password 1", role)
    return "ann@example.com"


def test_password_grant_issues_working_tokens(client: TestClient, app_engine: Any) -> None:
    """The password grant returns a bearer JWT and a refresh token; me shows the role."""
    email = _one_user(app_engine)
    response = _token(client, grant_type="password", username=email, password="a long password 1")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    assert body["refresh_token"].startswith("rt_")
    me = _me(client, body["access_token"]).json()
    assert me == {
        "subject": email,
        "kind": "user",
        "role": "analyst",
        "permissions": me["permissions"],
    }
    assert "audit:read" not in me["permissions"] and "accounts:read" in me["permissions"]
    with session_scope(app_engine) as session:
        stored = session.scalars(sa.select(RefreshToken.token_digest)).all()
    assert body["refresh_token"] not in stored and len(stored[0]) == 64  # stored hashed


def test_wrong_password_is_401_problem(client: TestClient, app_engine: Any) -> None:
    """A wrong password is a 401 problem+json that does not say which part was wrong."""
    email = _one_user(app_engine)
    for username in (email, "nobody@example.com"):
        response = _token(client, grant_type="password", username=username, password="wrong pass")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == service.LOGIN_REFUSED


def test_lockout_after_repeated_failures(
    client: TestClient, app_engine: Any, app_settings: Any
) -> None:
    """After login_max_failures wrong passwords even the right one is refused, and audited."""
    email = _one_user(app_engine)
    for _ in range(app_settings.login_max_failures):
        _token(client, grant_type="password", username=email, password="not it at all")
    right = _token(client, grant_type="password", username=email, password="a long password 1")
    assert right.status_code == 401
    assert "too many failed logins" in right.json()["detail"]
    with session_scope(app_engine) as session:
        user = session.scalar(sa.select(User).where(User.email == email))
        assert user.locked_until is not None
        actions = session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("login_failed") == app_settings.login_max_failures - 1
    assert "login_locked" in actions and actions[-1] == "login_refused_locked"


def test_refresh_rotates_and_reuse_revokes_the_login(client: TestClient, app_engine: Any) -> None:
    """A refresh token works once; presenting it again revokes the whole login."""
    email = _one_user(app_engine)
    first = _token(client, grant_type="password", username=email, password="a long password 1")
    old = first.json()["refresh_token"]
    second = _token(client, grant_type="refresh_token", refresh_token=old)
    assert second.status_code == 200
    new = second.json()["refresh_token"]
    assert new != old and _me(client, second.json()["access_token"]).status_code == 200
    reused = _token(client, grant_type="refresh_token", refresh_token=old)
    assert reused.status_code == 401 and "already used" in reused.json()["detail"]
    assert _token(client, grant_type="refresh_token", refresh_token=new).status_code == 401


def test_logout_revokes_access_and_refresh(client: TestClient, app_engine: Any) -> None:
    """After logout the access token is refused and its refresh token no longer works."""
    email = _one_user(app_engine)
    tokens = _token(client, grant_type="password", username=email, password="a long password 1")
    access, refresh = tokens.json()["access_token"], tokens.json()["refresh_token"]
    out = client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {access}"})
    assert out.status_code == 204
    assert _me(client, access).status_code == 401
    assert "revoked" in _me(client, access).json()["detail"]
    assert _token(client, grant_type="refresh_token", refresh_token=refresh).status_code == 401


def test_client_credentials_in_form_and_basic(client: TestClient, app_engine: Any) -> None:
    """A machine client gets a token with its secret in the form or in HTTP basic."""
    with session_scope(app_engine) as session:
        api_client, secret = service.create_client(session, "crm-sync", "manager")
        client_id = api_client.client_id
    form = _token(
        client, grant_type="client_credentials", client_id=client_id, client_secret=secret
    )
    assert form.status_code == 200
    assert "refresh_token" not in form.json()  # RFC 6749 4.4.3: no refresh token for clients
    me = _me(client, form.json()["access_token"]).json()
    assert (me["kind"], me["role"], me["subject"]) == ("client", "manager", client_id)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    wrong = _token(
        client, grant_type="client_credentials", client_id=client_id, client_secret="cs_nope"
    )
    assert wrong.status_code == 401


def test_tampered_and_garbage_tokens_are_401(client: TestClient, app_engine: Any) -> None:
    """A token whose payload was edited, or that is not a JWT, is refused."""
    email = _one_user(app_engine, role="viewer")
    access = _token(
        client, grant_type="password", username=email, password="a long password 1"
    ).json()["access_token"]
    header, payload, signature = access.split(".")
    forged = base64.urlsafe_b64decode(payload + "==").replace(b'"viewer"', b'"admin"')
    forged_payload = base64.urlsafe_b64encode(forged).decode().rstrip("=")
    for token in (f"{header}.{forged_payload}.{signature}", "not-a-jwt"):
        response = _me(client, token)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_unknown_grant_type_is_422(client: TestClient) -> None:
    """Only the three OAuth2 grants are accepted."""
    response = _token(client, grant_type="implicit")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.grant_type"


def test_audit_log_records_logins_writes_and_is_admin_only(
    client: TestClient, role_headers: dict[str, dict[str, str]]
) -> None:
    """Logins, failed logins and writes appear in /v1/audit with actor, action and address."""
    _token(client, grant_type="password", username="viewer@example.com", password="bad bad bad")
    created = client.post("/v1/keys", json={"name": "website"}, headers=role_headers["admin"])
    assert created.status_code == 201 and created.json()["write_key"].startswith("wk_")
    log = client.get("/v1/audit?limit=500", headers=role_headers["admin"]).json()
    entries = {(e["actor"], e["action"]) for e in log["items"]}
    assert ("admin@example.com", "login") in entries
    assert ("viewer@example.com", "login_failed") in entries
    assert ("admin@example.com", "write_key_create") in entries
    assert all(e["ip"] == "testclient" for e in log["items"])
    assert log["total"] == len(log["items"])
    only = client.get("/v1/audit?action=login_failed", headers=role_headers["admin"]).json()
    assert {e["action"] for e in only["items"]} == {"login_failed"}
    assert client.get("/v1/audit", headers=role_headers["manager"]).status_code == 403


def test_a_disabled_or_demoted_users_token_loses_its_rights_at_once(
    client: TestClient, app_engine: Any
) -> None:
    """The owner's state and role are read on each request, not trusted from the token."""
    with session_scope(app_engine) as session:
        for email in ("gone@example.com", "demoted@example.com"):
            service.create_user(session, email, "a long password 1", "admin")
    tokens = {
        email: _token(
            client, grant_type="password", username=email, password="a long password 1"
        ).json()["access_token"]
        for email in ("gone@example.com", "demoted@example.com")
    }
    with session_scope(app_engine) as session:
        service.disable_user(session, "gone@example.com")
        session.scalar(sa.select(User).where(User.email == "demoted@example.com")).role = "viewer"
    new_admin = {"email": "new@example.com", "password": "a long password 2", "role": "admin"}
    headers = {e: {"Authorization": f"Bearer {t}"} for e, t in tokens.items()}
    gone = client.post("/v1/users", json=new_admin, headers=headers["gone@example.com"])
    assert gone.status_code == 401 and "no longer active" in gone.json()["detail"]
    demoted = client.post("/v1/users", json=new_admin, headers=headers["demoted@example.com"])
    assert demoted.status_code == 403
    assert _me(client, tokens["demoted@example.com"]).json()["role"] == "viewer"
    with session_scope(app_engine) as session:
        assert session.scalar(sa.select(User).where(User.email == "new@example.com")) is None


def test_password_grant_refuses_wrong_client_credentials(
    client: TestClient, app_engine: Any
) -> None:
    """Client credentials sent with a password grant must be right (RFC 6749 invalid_client)."""
    email = _one_user(app_engine)
    with session_scope(app_engine) as session:
        api_client, secret = service.create_client(session, "portal", "viewer")
        client_id = api_client.client_id
    login = {"grant_type": "password", "username": email, "password": "a long password 1"}
    for wrong in ({"client_id": client_id, "client_secret": "cs_nope"}, {"client_id": "tc_x"}):
        refused = _token(client, **login, **wrong)
        assert refused.status_code == 401 and refused.json()["detail"].startswith("invalid_client")
    basic = base64.b64encode(f"{client_id}:cs_nope".encode()).decode()
    refused = client.post("/v1/auth/token", data=login, headers={"Authorization": f"Basic {basic}"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    right = _token(client, **login, client_id=client_id, client_secret=secret)
    assert right.status_code == 200 and _token(client, **login).status_code == 200
    empty = _token(client, **login, client_id="", client_secret="")  # as some clients send
    assert empty.status_code == 200


class CountingHasher(PasswordHasher):
    """An argon2 hasher that records the cost parameters of every hash it verifies."""

    def __init__(self) -> None:
        super().__init__(time_cost=2, memory_cost=16384)
        self.checked: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        text = hash.decode() if isinstance(hash, bytes) else hash
        self.checked.append(text.split("$")[3])  # "m=16384,t=2,p=4": the check's cost
        return super().verify(hash, password)


def test_locked_and_unknown_users_get_the_same_reply_after_the_same_check(
    client: TestClient, app_engine: Any, app_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked account answers like an unknown email, after one password check of equal cost."""
    hasher = CountingHasher()
    monkeypatch.setattr(service, "_HASHER", hasher)
    email = _one_user(app_engine)
    for _ in range(app_settings.login_max_failures):
        _token(client, grant_type="password", username=email, password="not it at all")
    replies, costs = [], []
    for login in ["nobody@example.com", email] * 3:
        hasher.checked.clear()
        reply = _token(client, grant_type="password", username=login, password="not the one")
        replies.append((reply.status_code, reply.text))
        costs.append(tuple(hasher.checked))
    assert len(set(replies)) == 1 and replies[0][0] == 401
    assert set(costs) == {("m=16384,t=2,p=4",)}, costs


def test_dashboard_logout_revokes_the_session_cookie(app_settings: Any, app_engine: Any) -> None:
    """After logging out of the dashboard, a copy of the old session cookie is refused."""
    email = _one_user(app_engine)
    app = create_app(app_settings)
    with TestClient(app) as browser:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
        form = {"email": email, "password": "a long password 1", "csrf_token": csrf.group(1)}
        assert browser.post("/login", data=form, follow_redirects=False).status_code == 303
        cookie = browser.cookies[SESSION_COOKIE]
        assert browser.get("/login", follow_redirects=False).status_code == 303  # logged in
        session_csrf = jwt.decode(cookie, options={"verify_signature": False})["csrf"]
        out = browser.post("/logout", data={"csrf_token": session_csrf}, follow_redirects=False)
        assert out.status_code == 303
    with TestClient(app, cookies={SESSION_COOKIE: cookie}) as replay:
        assert replay.get("/login", follow_redirects=False).status_code == 200  # not logged in
    app.state.engine.dispose()


def test_logins_are_throttled_per_username_and_address(app_settings: Any, app_engine: Any) -> None:
    """Past the limits a login is 429 with Retry-After; logins that succeed are not counted."""
    email = _one_user(app_engine)
    limits = {"login_throttle_per_username": 3, "login_throttle_per_address": 5}
    app = create_app(app_settings.model_copy(update=limits), dashboard=False)
    right = {"grant_type": "password", "username": email, "password": "a long password 1"}
    with TestClient(app) as client:
        for _ in range(4):
            assert _token(client, **right).status_code == 200
        answers = [_token(client, **{**right, "password": "nope nope"}) for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert 0 < int(answers[-1].headers["retry-after"]) <= app_settings.login_throttle_seconds
        assert _token(client, **right).status_code == 429  # the username's window is full
        others = [_token(client, **{**right, "username": f"x{i}@a.com"}) for i in range(3)]
        assert [a.status_code for a in others] == [401, 401, 429]  # the address's is full
    app.state.engine.dispose()


def test_dashboard_logins_are_throttled_too(app_settings: Any, app_engine: Any) -> None:
    """The dashboard's login form shares the throttle: past the limit it answers 429."""
    email = _one_user(app_engine)
    app = create_app(app_settings.model_copy(update={"login_throttle_per_username": 2}))
    with TestClient(app) as browser:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
        form = {"email": email, "password": "not the one", "csrf_token": csrf.group(1)}
        answers = [browser.post("/login", data=form) for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 429]
        assert int(answers[-1].headers["retry-after"]) > 0
        assert "too many login attempts" in answers[-1].text
    app.state.engine.dispose()
