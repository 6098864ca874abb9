"""The dashboard's account page and its fragments follow the API's permissions, role by role.

Seeded book (tests/web/conftest.py): alerts on accounts 1-6, owned by the csm on odd ids
(1, 3, 5) and by the admin on even ids. A csm sees only their own accounts' alerts (the API's
/v1/alerts/{id} says 403 for the others); a viewer may not read product events (the API's 360
gives recent_events: null).
"""

from __future__ import annotations

import pytest

from tenure.auth.roles import ROLES

ALERT_TEXT = "health fell 18 points in 7 days"
MAX = "99999999999999999999"
# dashboard route -> roles allowed (every other role gets 403); written out by hand
MATRIX = {
    "/accounts/1": set(ROLES),
    "/accounts/1/events": {"admin", "manager", "csm", "analyst"},
    "/experiments": set(ROLES),
    "/experiments/onboarding-call": set(ROLES),
    "/loyalty": set(ROLES),
}


@pytest.mark.parametrize("role", ["admin", "csm", "viewer"])  # the seeded users
@pytest.mark.parametrize("path", sorted(MATRIX))
def test_account_routes_follow_the_permission_matrix(login, people, role, path):
    response = login(getattr(people, role)).get(path)
    assert response.status_code == (200 if role in MATRIX[path] else 403), (role, path)


def test_a_csm_sees_only_their_own_accounts_alerts_on_the_account_page(login, people):
    csm, admin = login(people.csm), login(people.admin)
    assert ALERT_TEXT in csm.get("/accounts/1").text  # owned by the csm
    assert ALERT_TEXT not in csm.get("/accounts/2").text  # owned by the admin
    assert ALERT_TEXT in admin.get("/accounts/2").text


def test_a_viewer_sees_no_events_on_the_account_page(login, people):
    viewer = login(people.viewer)
    page = viewer.get("/accounts/1")
    assert page.status_code == 200
    assert 'id="account-events"' not in page.text
    assert "may not read product events" in page.text
    assert 'id="account-events"' in login(people.admin).get("/accounts/1").text


@pytest.mark.parametrize("path", [f"/accounts/{MAX}", f"/accounts/{MAX}/events", "/accounts/0"])
def test_ids_no_account_can_have_are_a_404_page(login, people, path):
    response = login(people.admin).get(path)
    assert response.status_code == 404 and "no account with id" in response.text


def test_acknowledging_an_alert_id_no_alert_can_have_is_a_404(login, people, csrf):
    client = login(people.admin)
    token = csrf(client.get("/alerts").text)
    response = client.post(f"/alerts/{MAX}/acknowledge", data={"csrf_token": token})
    assert response.status_code == 404 and "no alert with id" in response.text
