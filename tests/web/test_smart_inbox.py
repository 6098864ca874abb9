"""The smart inbox: one group per account with all its reasons, most expected MRR at risk first,
each owner's daily budget marked, on the dashboard and in the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tenure import clock
from tenure.alerts.models import Alert
from tenure.api.app import create_app
from tenure.auth.service import create_user
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope

from ..factories import add_account, add_churn_score, add_subscription
from .conftest import ADMIN, CSM, PASSWORD, csrf_of

ACCOUNTS = 8
BUDGET = 3
# account i: MRR (i + 1) × 100.00, churn probability from this list (None: not scored)
PROBABILITIES = (0.9, 0.05, 0.5, None, 0.3, 0.8, 0.1, 0.2)


def _seed(root: Path) -> Settings:
    """Write 8 accounts, two open alerts each (one for the csm's accounts), churn scores."""
    settings = Settings(
        data_dir=root / "data", secure_cookies=False, secret_key="k" * 48,
        alerts_daily_budget=BUDGET,
    )  # fmt: skip
    engine = get_engine(settings)
    migrate(engine)
    now, day = clock.now(), clock.now().date()
    with session_scope(engine) as session:
        for i, probability in enumerate(PROBABILITIES):
            owner = CSM if i % 2 else ADMIN
            account = add_account(session, f"smart-{i}", created_at=datetime(2024, 1, 1, tzinfo=UTC),
                                  owner=owner)  # fmt: skip
            add_subscription(session, account, mrr=(i + 1) * 10_000)
            if probability is not None:
                add_churn_score(session, account, as_of=day, probability=probability)
            for rule, severity in (("usage", "low"), ("tickets", "high")):
                session.add(Alert(
                    account_id=account.id, rule=rule, kind="score_drop", severity=severity,
                    owner=owner, status="open", message=f"{account.name}: {rule} went wrong",
                    facts={}, open_key=f"{account.id}:{rule}", opened_at=now - timedelta(hours=i),
                    updated_at=now,
                ))  # fmt: skip
        create_user(session, ADMIN, PASSWORD, "admin")
        create_user(session, CSM, PASSWORD, "csm")
    engine.dispose()
    return settings


@pytest.fixture(scope="module")
def smart_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """Return the app on the 8-account book."""
    application = create_app(_seed(tmp_path_factory.mktemp("smart")))
    yield application
    application.state.engine.dispose()


def _client(app: FastAPI, email: str) -> TestClient:
    client = TestClient(app)
    token = csrf_of(client.get("/login").text)
    form = {"email": email, "password": PASSWORD, "csrf_token": token, "next": "/"}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    return client


def _form(email: str) -> dict[str, str]:
    return {"grant_type": "password", "username": email, "password": PASSWORD}


def _expected(owner: str | None = None) -> list[int]:
    """Return account indexes by MRR × probability (computed here), largest first."""
    risk = {i: (i + 1) * 100 * (p or 0.0) for i, p in enumerate(PROBABILITIES)}
    keep = [i for i in risk if owner is None or (CSM if i % 2 else ADMIN) == owner]
    return sorted(keep, key=lambda i: (-risk[i], i))


def test_the_dashboard_groups_alerts_by_account_most_mrr_at_risk_first(smart_app):
    html = _client(smart_app, ADMIN).get("/alerts").text
    groups = re.findall(r'id="account-group-(\d+)"', html)
    assert [int(g) - 1 for g in groups] == _expected()  # account ids are 1..8
    first = html.split('id="account-group-6"')[1].split("</tbody>")[0]  # 0.8 × 600.00
    assert "480.00" in first and "usage went wrong" in first and "tickets went wrong" in first
    assert len(re.findall(r'<tr id="alert-\d+"', first)) == 2  # the rows themselves stay
    # Per owner, the first BUDGET groups are today's; the admin owns 4 accounts, one over budget.
    assert html.count('class="pill digest"') == 2  # one admin and one csm group over budget


def test_the_api_inbox_ranks_groups_marks_the_budget_and_a_csm_sees_their_own(smart_app):
    client = TestClient(smart_app)
    token = client.post("/v1/auth/token", data=_form(ADMIN))
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    body = client.get("/v1/alerts/inbox", headers=headers).json()
    assert body["budget"] == BUDGET and body["total"] == ACCOUNTS
    order = [g["account_id"] - 1 for g in body["groups"]]
    assert order == _expected()
    top = body["groups"][0]
    assert top["priority"]["mrr_at_risk"] == pytest.approx(600 * 0.8)
    assert top["severity"] == "high" and len(top["alerts"]) == 2
    assert top["reasons"] == ["tickets went wrong", "usage went wrong"]
    for owner in (ADMIN, CSM):
        mine = [g for g in body["groups"] if g["owner"] == owner]
        assert [g["in_budget"] for g in mine] == [True] * BUDGET + [False] * (len(mine) - BUDGET)
    csm_token = client.post("/v1/auth/token", data=_form(CSM))
    csm = {"Authorization": f"Bearer {csm_token.json()['access_token']}"}
    own = client.get("/v1/alerts/inbox", headers=csm).json()
    assert [g["account_id"] - 1 for g in own["groups"]] == _expected(CSM)
    assert client.get("/v1/alerts/inbox?page=0", headers=headers).status_code == 422
