"""The dashboard's alert list (view=list): 50 a page, most severe first, then by MRR; links keep filters."""

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

from ..factories import add_account, add_subscription
from .conftest import ADMIN, PASSWORD, csrf_of

ACCOUNTS = 30
SEVERITIES = ("low", "medium", "high", "critical")
RESOLVED = 7


def _seed(root: Path) -> Settings:
    """Write 30 accounts of rising MRR, an open alert per account and severity, some resolved."""
    settings = Settings(data_dir=root / "data", secure_cookies=False, secret_key="k" * 48)
    engine = get_engine(settings)
    migrate(engine)
    now = clock.now()
    with session_scope(engine) as session:
        for i in range(ACCOUNTS):
            account = add_account(
                session, f"inbox-{i}", created_at=datetime(2024, 1, 1, tzinfo=UTC)
            )
            add_subscription(session, account, mrr=(i + 1) * 1_000)
            for rank, severity in enumerate(SEVERITIES):
                # The least severe and the smallest accounts are the newest: newest-first differs.
                opened = now - timedelta(minutes=rank * 100 + i)
                session.add(_alert(account.id, severity, opened, f"rule-{severity}"))
            if i < RESOLVED:
                session.add(_alert(account.id, "critical", now, "rule-old", status="resolved"))
        create_user(session, ADMIN, PASSWORD, "admin")
    engine.dispose()
    return settings


def _alert(account_id: int, severity: str, opened: datetime, rule: str, status: str = "open"):
    return Alert(
        account_id=account_id, rule=rule, kind="score_drop", severity=severity, owner=ADMIN,
        status=status, message=f"inbox-{account_id}: something happened", facts={},
        open_key=f"{account_id}:{rule}" if status == "open" else None,
        opened_at=opened, updated_at=opened,
    )  # fmt: skip


@pytest.fixture(scope="module")
def inbox_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """Return the app on a book of 120 open and 7 resolved alerts."""
    application = create_app(_seed(tmp_path_factory.mktemp("inbox")))
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def client(inbox_app: FastAPI) -> TestClient:
    """Return a client logged in as the admin."""
    client = TestClient(inbox_app)
    token = csrf_of(client.get("/login").text)
    form = {"email": ADMIN, "password": PASSWORD, "csrf_token": token, "next": "/"}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    return client


def _expected(inbox_app: FastAPI) -> list[int]:
    """Return the ids of the open alerts by severity, then MRR in force, computed here."""
    rank = {severity: n for n, severity in enumerate(SEVERITIES)}
    with session_scope(inbox_app.state.engine) as session:
        alerts = session.query(Alert).filter(Alert.status == "open").all()
        # Account i has MRR (i + 1) × 10.00: a higher account id is a larger account here.
        keyed = [(-rank[a.severity], -a.account_id, a.id) for a in alerts]
    return [alert_id for *_, alert_id in sorted(keyed)]


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="alert-(\d+)"', html)]


def test_first_page_shows_50_alerts_most_severe_then_largest_account_first(inbox_app, client):
    html = client.get("/alerts?view=list").text
    expected = _expected(inbox_app)
    assert len(expected) == ACCOUNTS * len(SEVERITIES)
    assert _ids(html) == expected[:50]
    assert "showing 1–50 of 120" in html
    assert 'href="/alerts?status=active&view=list&page=2"' in html and "page=0" not in html


def test_page_two_and_the_last_page(inbox_app, client):
    expected = _expected(inbox_app)
    second = client.get("/alerts?view=list&page=2").text
    assert _ids(second) == expected[50:100]
    assert "showing 51–100 of 120" in second
    assert 'href="/alerts?status=active&view=list&page=1"' in second
    assert 'href="/alerts?status=active&view=list&page=3"' in second
    last = client.get(
        "/alerts?view=list&page=99999999999999999999"
    ).text  # past the end: the last page
    assert _ids(last) == expected[100:] and "showing 101–120 of 120" in last


def test_page_links_keep_the_status_filter_and_the_partial_is_paged(inbox_app, client):
    html = client.get("/alerts?status=open&view=list&page=2").text
    assert 'hx-get="/alerts?status=open&view=list&page=1"' in html
    assert 'hx-get="/alerts?status=open&view=list&page=3"' in html
    partial = client.get(
        "/alerts?status=open&view=list&page=3",
        headers={"HX-Request": "true", "HX-Target": "alert-rows"},
    )
    assert "<html" not in partial.text and len(_ids(partial.text)) == 20
    resolved = client.get("/alerts?status=resolved&view=list").text
    assert len(_ids(resolved)) == RESOLVED and f"showing 1–{RESOLVED} of {RESOLVED}" in resolved
    assert "page=2" not in resolved


def test_a_page_below_one_is_a_clear_error(client):
    response = client.get("/alerts?view=list&page=0")
    assert response.status_code == 400 and "page must be 1 or more" in response.text
