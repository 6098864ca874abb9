"""API fixtures: an app on a migrated SQLite app DB, a client, a user and token per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.api.app import create_app
from tenure.auth import service
from tenure.auth.roles import ROLES
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope

from .. import factories

PASSWORD = "correct horse battery"
SECRET = "test-signing-key-" + "x" * 32
T0 = datetime(2024, 1, 15, tzinfo=UTC)


def api_settings(data_dir: Path, **overrides: object) -> Settings:
    """Return settings for an API test (fixed signing key, plain-HTTP cookies)."""
    values = {"data_dir": data_dir, "secret_key": SECRET, "secure_cookies": False}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash with argon2id at minimal cost in tests; production keeps the library defaults."""
    monkeypatch.setattr(
        service, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    """Return API settings in a fresh data dir."""
    return api_settings(tmp_path / "data", stripe_webhook_secret="whsec_test_secret")


@pytest.fixture
def app_engine(app_settings: Settings) -> Iterator[sa.Engine]:
    """Return the migrated app-DB engine of app_settings."""
    engine = get_engine(app_settings)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app(app_settings: Settings, app_engine: sa.Engine) -> Iterator[FastAPI]:
    """Return the app built by create_app."""
    application = create_app(app_settings, dashboard=False)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """Return an HTTP client for the app."""
    with TestClient(app) as test_client:
        yield test_client


def make_users(engine: sa.Engine) -> dict[str, str]:
    """Create one user per role; return role -> email."""
    emails = {role: f"{role}@example.com" for role in ROLES}
    with session_scope(engine) as session:
        for role, email in emails.items():
            service.create_user(session, email, PASSWORD, role)
    return emails


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict:
    """Log in with the password grant and return the token response."""
    response = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def role_headers(client: TestClient, app_engine: sa.Engine) -> dict[str, dict[str, str]]:
    """Return role -> Authorization headers of a logged-in user of that role."""
    emails = make_users(app_engine)
    return {
        role: {"Authorization": "Bearer " + login(client, email)["access_token"]}
        for role, email in emails.items()
    }


def add_account(
    session: Session,
    external_id: str,
    *,
    name: str | None = None,
    owner: str | None = None,
    mrr: int = 10_000,
    currency: str = "USD",
    health: tuple[float, str] | None = None,
    churn: tuple[float, str] | None = None,
    as_of: date = date(2025, 6, 29),
) -> Account:
    """Add an account with one running subscription, an open ticket and optional latest scores."""
    account = factories.add_account(
        session,
        external_id,
        name=name or f"Account {external_id}",
        created_at=T0,
        owner=owner,
        industry="software",
        region="EU",
        attributes={"plan_tier": "pro"},
    )
    factories.add_subscription(session, account, mrr=mrr, currency=currency, started_at=T0)
    if health:
        factories.add_health_score(
            session,
            account,
            as_of=as_of,
            score=health[0],
            tier=health[1],
            measures={"logins": {"value": 3.0, "score": 40.0, "weight": 1.0}},
            reason="logins fell",
            change_7d=-4.0,
            change_30d=-9.0,
            updated_at=T0,
        )
    if churn:
        factories.add_churn_score(
            session,
            account,
            as_of=as_of,
            model_version="churn-v3",
            probability=churn[0],
            risk_tier=churn[1],
            reasons=[["logins_30d", 2.0, 0.4]],  # stored as bulk scoring stores it
            scored_at=T0,
        )
    factories.add_ticket(
        session,
        account,
        external_id=f"t-{external_id}",
        subject="Export broken",
        opened_at=T0,
        priority="high",
    )
    return account


@pytest.fixture
def make_account() -> Callable[..., Account]:
    """Return the account factory (session, external_id, **options)."""
    return add_account
