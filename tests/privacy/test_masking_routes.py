"""Route × role: no unmasked identifier of a customer's person reaches a role that may not see it.

One distinctive person is seeded into every place the API and the dashboard can show people
(masking_world). Every GET route of the app (API and dashboard pages, enumerated from the app's
own routes, so a new route is walked without editing this test) is read as each role; a path
parameter with no seeded value is filled with a placeholder so the route is still visited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.auth import service
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope

from .masking_world import EMAIL, NAME, PASSWORD, PHONE, USERS, Ids, seed

# What must never reach a masked reader: the email, its local part, each name, the phone digits.
IDENTIFIERS = (EMAIL, "zelda.quixote", "Zelda", "Quixote", "415 555 0199")
MASKED = ("other_csm", "analyst", "viewer")
# Not walked: a never-ending event stream (checked in test_masking_live), the login form, and
# the person's own token-addressed pages (unsubscribe, preferences, tracking), which are theirs.
SKIPPED = ("/live", "/login", "/u/", "/preferences/", "/t/o/", "/t/c/", "/static")
# Where the control roles must see the person: proof the walk reaches the seeded data.
API_SHOWS = ("/v1/accounts/{account}", "/v1/alerts/{alert}", "/v1/tasks", "/v1/accounts/{account}/plays",
             "/v1/loyalty/accounts/{account}/leaderboard", "/v1/loyalty/accounts/{account}/ledger",
             "/v1/loyalty/accounts/{account}", "/v1/loyalty/contacts/{contact}")  # fmt: skip
PAGES_SHOW = ("/accounts/{account}", "/alerts", "/tasks", "/plays/{play}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Ids]]:
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
    with session_scope(engine) as session:
        ids = seed(session)
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, ids
    app.state.engine.dispose()
    engine.dispose()
    patch.undo()


def _leaks(text: str) -> list[str]:
    digits = re.sub(r"\D", "", text)
    found = [word for word in IDENTIFIERS if word.lower() in text.lower()]
    return found + (["phone digits"] if "4155550199" in digits else [])


def get_paths(routes: list, prefix: str = "") -> list[str]:
    """Return the paths of every GET route, descending into included routers."""
    paths = []
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            inner = prefix + route.include_context.prefix
            paths += get_paths(route.original_router.routes, inner)
        elif "GET" in (getattr(route, "methods", None) or ()):
            paths.append(prefix + route.path)
    return paths


def _fill(path: str, ids: Ids) -> str:
    """Fill a path's parameters with the seeded ids (by route family), or a placeholder."""
    key = ids.journey if "journeys" in path else ids.play if "plays" in path else "none"
    values = {"account_id": ids.account, "alert_id": ids.alert, "contact_id": ids.contact,
              "key": key, "name": "default", "request_id": "none"}  # fmt: skip
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(values.get(m.group(1), "1")), path)


def _walk(client: TestClient, ids: Ids, api: bool, **kwargs) -> dict[str, object]:
    paths = [p for p in get_paths(client.app.routes) if p.startswith("/v1/") == api]
    paths = [_fill(p, ids) for p in paths if not p.startswith(SKIPPED)]
    bodies = {path: client.get(path, follow_redirects=False, **kwargs) for path in paths}
    errors = {p: r.status_code for p, r in bodies.items() if r.status_code >= 500}
    errors.pop("/readyz", None)  # 503 is its answer before the first pipeline run
    assert errors == {}, errors
    return bodies


def _shown(templates: tuple[str, ...], ids: Ids) -> list[str]:
    fill = {"account": ids.account, "alert": ids.alert, "play": ids.play, "contact": ids.contact}
    return [t.format(**fill) for t in templates]


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


def test_the_walk_enumerates_every_route_family(world):
    client, ids = world
    paths = get_paths(client.app.routes)
    for family in ("/v1/tasks", "/v1/loyalty/accounts/{account_id}/leaderboard", "/plays/{key}",
                   "/journeys/{key}", "/forecast", "/v1/accounts/{account_id}/score-history"):  # fmt: skip
        assert family in paths
    assert _fill("/v1/experiments/{key}/results", ids) == "/v1/experiments/none/results"
    assert _fill("/x/{brand_new_id}", ids) == "/x/1"  # an unknown parameter is still visited


@pytest.mark.parametrize("role", list(USERS))
def test_api_routes_mask_people_for_roles_that_may_not_see_them(world, role):
    client, ids = world
    bodies = _walk(client, ids, api=True, headers=_token(client, USERS[role]))
    account = f"/v1/accounts/{ids.account}"
    if role in MASKED:
        leaks = {p: _leaks(r.text) for p, r in bodies.items() if _leaks(r.text)}
        assert leaks == {}, leaks
        body = bodies[account].json()
        assert body["contacts"][0]["email"] == "z***@privacy-test.org"
        assert body["contacts"][0]["name"] == "Z*** Q***"
    else:  # the control: the same routes do show the person to those who may see it
        for path in _shown(API_SHOWS, ids):
            assert EMAIL in bodies[path].text or NAME in bodies[path].text, path
        text = bodies[account].text + bodies[f"/v1/alerts/{ids.alert}"].text
        assert EMAIL in text and NAME in text and PHONE in text


@pytest.mark.slow
@pytest.mark.parametrize("role", ["admin", "csm", "other_csm", "analyst", "viewer"])
def test_dashboard_pages_mask_people_for_roles_that_may_not_see_them(world, role):
    client, ids = world
    _dashboard_login(client, USERS[role])
    bodies = _walk(client, ids, api=False)
    account = f"/accounts/{ids.account}"
    assert bodies[account].status_code == 200
    if role in MASKED:
        leaks = {p: _leaks(r.text) for p, r in bodies.items() if _leaks(r.text)}
        assert leaks == {}, leaks
        assert "z***@privacy-test.org" in bodies[account].text
    else:
        for path in _shown(PAGES_SHOW, ids):
            assert NAME in bodies[path].text, path
        assert EMAIL in bodies[account].text
    client.cookies.clear()


def test_a_task_given_to_another_csm_shows_them_the_work_not_the_person(world):
    client, _ = world
    manager, other = _token(client, USERS["manager"]), _token(client, USERS["other_csm"])
    done = client.get("/v1/tasks?status=done", headers=manager).json()[0]
    url = f"/v1/tasks/{done['id']}/assign"
    given = client.post(url, json={"owner": USERS["other_csm"]}, headers=manager)
    try:
        assert given.status_code == 200 and NAME in given.json()["notes"]
        [task] = client.get("/v1/tasks?status=done", headers=other).json()
        assert task["owner"] == USERS["other_csm"] and task["title"] == "Call Z*** Q***"
        assert _leaks(str(task)) == [] and "z***@privacy-test.org" in task["notes"]
    finally:
        client.post(url, json={"owner": USERS["csm"]}, headers=manager)
