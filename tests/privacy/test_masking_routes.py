"""Route × role: no unmasked identifier of a customer's person reaches a role that may not see it.

One distinctive person is seeded into every place the API and the dashboard can show people
(contact, inbox and serving-copy events, ticket subject, alert message and facts); every GET
route of the API and every dashboard page is read as each role.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tenure import clock
from tenure.alerts.models import Alert
from tenure.api.app import create_app
from tenure.auth import service
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.events.models import RecentEvent
from tenure.web.routes import build_router

from ..factories import add_account, add_contact, add_inbox_event, add_subscription, add_ticket

EMAIL = "zelda.quixote@privacy-test.org"
NAME = "Zelda Quixote"
PHONE = "+1 415 555 0199"
# What must never reach a masked reader: the email, its local part, each name, the phone digits.
IDENTIFIERS = (EMAIL, "zelda.quixote", "Zelda", "Quixote", "4155550199", "415 555 0199")
PASSWORD = "correct horse battery"
CSM, OTHER_CSM = "csm@example.com", "csm2@example.com"
USERS = {
    "admin": "admin@example.com",
    "manager": "manager@example.com",
    "csm": CSM,
    "other_csm": OTHER_CSM,
    "analyst": "analyst@example.com",
    "viewer": "viewer@example.com",
}
MASKED = ("other_csm", "analyst", "viewer")
SKIPPED_PAGES = ("/login", "/live")  # a form without data; a never-ending event stream


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, int, int]]:
    """Yield a client of the app (API and dashboard) on a book with the person, and the ids."""
    patch = pytest.MonkeyPatch()
    patch.setattr(service, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("masking") / "data",
        secret_key="masking-test-key-" + "k" * 32,
        secure_cookies=False,
    )
    engine = get_engine(settings)
    migrate(engine)
    account_id, alert_id = _seed(engine)
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, account_id, alert_id
    app.state.engine.dispose()
    engine.dispose()
    patch.undo()


def _seed(engine: sa.Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        for role, email in USERS.items():
            service.create_user(session, email, PASSWORD, role.removeprefix("other_"))
        account = add_account(session, "acme-privacy", name="Acme Privacy", owner=CSM)
        add_subscription(session, account)
        add_contact(session, account, external_id=EMAIL, email=EMAIL, name=NAME, role="champion")
        add_ticket(session, account, subject=f"Call {NAME} on {PHONE} or write to {EMAIL}")
        props = {"email": EMAIL, "name": NAME, "phone": PHONE, "note": f"invited by {NAME}"}
        add_inbox_event(session, account, contact_external_id=EMAIL, contact_email=EMAIL,
                        properties=props)  # fmt: skip
        now = clock.now()
        session.add(
            RecentEvent(account_id=account.id, message_id="r1", contact_external_id=EMAIL,
                        name="export", ts=now, properties=props, source="warehouse")
        )  # fmt: skip
        comment = f"{NAME} here, call me on {PHONE} ({EMAIL})"
        alert = Alert(
            account_id=account.id, rule="nps", kind="nps_detractor", severity="high", owner=CSM,
            status="open", message=f"Acme Privacy: NPS detractor: scored 2/10 — “{comment}”",
            facts={"comment": comment}, open_key="privacy:nps", opened_at=now, updated_at=now,
        )  # fmt: skip
        session.add(alert)
        session.flush()
        return account.id, alert.id


def _leaks(text: str) -> list[str]:
    digits = re.sub(r"\D", "", text)
    found = [word for word in IDENTIFIERS if word.lower() in text.lower()]
    return found + (["phone digits"] if "4155550199" in digits else [])


def _api_paths(client: TestClient, account_id: int, alert_id: int) -> list[str]:
    paths = [p for p, ops in client.app.openapi()["paths"].items() if "get" in ops]
    ids = {
        "{account_id}": str(account_id),
        "{alert_id}": str(alert_id),
        "{name}": "x",
        "{key}": "x",
        "{request_id}": "x",
    }
    for placeholder, value in ids.items():
        paths = [p.replace(placeholder, value) for p in paths]
    return paths


def _pages(client: TestClient, account_id: int) -> list[str]:
    routes = build_router(client.app.state.settings).routes
    paths = [r.path for r in routes if "GET" in (getattr(r, "methods", None) or ())]
    paths = [p.replace("{account_id}", str(account_id)) for p in paths if p not in SKIPPED_PAGES]
    return [p.replace("{key}", "none") for p in paths]


def _token(client: TestClient, email: str) -> dict[str, str]:
    form = {"grant_type": "password", "username": email, "password": PASSWORD}
    response = client.post("/v1/auth/token", data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _dashboard_login(client: TestClient, email: str) -> None:
    client.cookies.clear()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    form = {"email": email, "password": PASSWORD, "csrf_token": token, "next": "/"}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", list(USERS))
def test_api_routes_mask_people_for_roles_that_may_not_see_them(world, role):
    client, account_id, alert_id = world
    headers = _token(client, USERS[role])
    paths = _api_paths(client, account_id, alert_id)
    assert f"/v1/accounts/{account_id}" in paths and f"/v1/alerts/{alert_id}" in paths
    assert not [p for p in paths if "{" in p], "a path parameter this test does not fill"
    bodies = {path: client.get(path, headers=headers) for path in paths}
    if role in MASKED:
        leaks = {p: _leaks(r.text) for p, r in bodies.items() if _leaks(r.text)}
        assert leaks == {}, leaks
        body = bodies[f"/v1/accounts/{account_id}"].json()
        assert body["contacts"][0]["email"] == "z***@privacy-test.org"
        assert body["contacts"][0]["name"] == "Z*** Q***"
    else:  # the control: the same routes do show the person to those who may see it
        text = bodies[f"/v1/accounts/{account_id}"].text + bodies[f"/v1/alerts/{alert_id}"].text
        assert EMAIL in text and NAME in text and PHONE in text


@pytest.mark.slow
@pytest.mark.parametrize("role", ["csm", "other_csm", "analyst", "viewer"])
def test_dashboard_pages_mask_people_for_roles_that_may_not_see_them(world, role):
    client, account_id, _ = world
    _dashboard_login(client, USERS[role])
    pages = _pages(client, account_id)
    assert f"/accounts/{account_id}" in pages and "/alerts" in pages
    bodies = {page: client.get(page) for page in pages}
    assert bodies[f"/accounts/{account_id}"].status_code == 200
    if role in MASKED:
        leaks = {p: _leaks(r.text) for p, r in bodies.items() if _leaks(r.text)}
        assert leaks == {}, leaks
        assert "z***@privacy-test.org" in bodies[f"/accounts/{account_id}"].text
    else:
        assert EMAIL in bodies[f"/accounts/{account_id}"].text
        assert NAME in bodies[f"/accounts/{account_id}"].text
    client.cookies.clear()
