"""Dashboard pages through the ASGI app: login and CSRF, every page, filters, alert actions."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.alerts.models import Alert
from tenure.api.app import create_app
from tenure.auth.models import AuditEntry
from tenure.auth.service import create_user
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.metrics.models import MetricsMonth
from tenure.web import overview
from tenure.web.session import LOGIN_CSRF_COOKIE, SESSION_COOKIE

PAGES = (
    "/", "/accounts", "/accounts/1", "/alerts", "/cohorts", "/segments", "/model", "/quality",
    "/experiments", "/experiments/onboarding-call",
)  # fmt: skip


def rows_of(html: str) -> list[str]:
    """Return the account ids of the rows in an accounts table."""
    return re.findall(r'<tr data-account="(\d+)"', html)


def test_pages_redirect_anonymous_visitors_to_login(app):
    client = TestClient(app)
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    partial = client.get("/accounts", headers={"HX-Request": "true"}, follow_redirects=False)
    assert partial.status_code == 401 and partial.headers["HX-Redirect"].startswith("/login")
    assert client.get("/live").status_code == 401


def test_login_sets_a_secure_httponly_lax_cookie_and_rejects_a_bad_password(app, people, csrf):
    client = TestClient(app)
    token = csrf(client.get("/login").text)
    form = {"email": people.admin, "password": "wrong password!", "csrf_token": token}
    refused = client.post("/login", data=form, follow_redirects=False)
    assert refused.status_code == 401 and "wrong email or password" in refused.text
    assert f'value="{people.admin}"' in refused.text  # the email is kept for the retry
    assert SESSION_COOKIE not in client.cookies
    form["password"] = people.password
    response = client.post("/login", data=form | {"next": "/alerts"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/alerts"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    # The test book turns secure cookies off (plain http on loopback); the flag follows settings.
    assert ("Secure" in cookie) is app.state.settings.secure_cookies


def test_login_without_the_forms_csrf_token_is_refused(app, people):
    client = TestClient(app)
    client.get("/login")
    form = {"email": people.admin, "password": people.password, "csrf_token": "forged" * 5}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 403 and "expired" in response.text
    assert LOGIN_CSRF_COOKIE in client.cookies and SESSION_COOKIE not in client.cookies


def test_login_never_redirects_to_another_site(app, people, csrf):
    client = TestClient(app)
    token = csrf(client.get("/login").text)
    form = {"email": people.admin, "password": people.password, "csrf_token": token}
    response = client.post(
        "/login", data=form | {"next": "//evil.example/"}, follow_redirects=False
    )
    assert response.headers["location"] == "/"


def test_a_forged_session_cookie_is_ignored(app):
    client = TestClient(app)
    client.cookies.set(SESSION_COOKIE, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_every_page_renders_for_a_viewer(login, people):
    client = login(people.viewer)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert "<main" in response.text and "Traceback" not in response.text
    overview = client.get("/").text
    assert 'id="chart-movements"' in overview and 'id="at-risk"' in overview
    assert "content-security-policy" in client.get("/").headers


def test_quality_and_cohort_pages_draw_the_reports_charts(login, people):
    """The DQ page and the cohorts page show the charts of their --html reports (same builders)."""
    client = login(people.viewer)
    quality = client.get("/quality").text
    assert 'id="chart-dq-checks"' in quality and "data-chart=" in quality
    net = client.get("/cohorts?matrix=net_mrr").text
    assert 'id="chart-cohorts-net_mrr"' in net


def test_overview_computes_the_months_itself_when_the_pipeline_stored_none(app, book):
    with session_scope(app.state.engine) as session:
        stored = overview.monthly_figures(db_session=session, settings=book)
        session.execute(sa.delete(MetricsMonth))
        computed = overview.monthly_figures(db_session=session, settings=book)
        session.rollback()  # keep the stored months for the other tests
    assert len(stored) == len(computed) == 12
    keys = ("month", "mrr_end", "new", "churn", "nrr", "customers_end")
    assert [{k: m[k] for k in keys} for m in computed] == [{k: m[k] for k in keys} for m in stored]


def test_accounts_filters_narrow_the_list(login, people):
    client = login(people.admin)
    everyone = rows_of(client.get("/accounts").text)
    assert len(everyone) == 25  # one full page
    hx = {"HX-Request": "true", "HX-Target": "account-rows"}
    red = client.get("/accounts", params={"tier": "red"}, headers=hx)
    red_ids = rows_of(red.text)
    assert red_ids and "<html" not in red.text  # a partial
    assert "tier-red" in red.text and "tier-green" not in red.text
    rich = client.get("/accounts", params={"mrr_min": "3000", "sort": "mrr"}).text
    mrr = [float(x.replace(",", "")) for x in re.findall(r'class="n mrr">([\d,]+)<', rich)]
    assert mrr and min(mrr) >= 3000 and mrr == sorted(mrr, reverse=True)


def test_accounts_name_search_finds_one_account(login, people):
    client = login(people.admin)
    first = client.get("/accounts/1").text
    name = re.search(r"<h1>([^<]+)</h1>", first).group(1)
    found = client.get("/accounts", params={"q": name.lower()}).text
    assert rows_of(found)[0] == "1"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"mrr_min": "lots"}, "mrr_min must be a number"),
        ({"sort": "DROP TABLE"}, "sort must be one of"),
        ({"page": "0"}, "page must be a whole number"),
        ({"risk": "extreme"}, "risk must be low, medium or high"),
    ],
)
def test_bad_filters_get_a_clear_400(login, people, query, message):
    response = login(people.viewer).get("/accounts", params=query)
    assert response.status_code == 400 and message in response.text


def test_missing_account_is_a_404_page(login, people):
    response = login(people.viewer).get("/accounts/999999")
    assert response.status_code == 404 and "no account with id 999999" in response.text


def _alert_of(app, owner: str, status: str = "open") -> int:
    with session_scope(app.state.engine) as session:
        query = sa.select(Alert.id).where(Alert.owner == owner, Alert.status == status)
        return session.scalars(query.order_by(Alert.id)).first()


def test_acknowledging_needs_the_csrf_token_and_is_audited(app, login, people, csrf):
    client = login(people.csm)
    alert_id = _alert_of(app, people.csm)
    page = client.get("/alerts").text
    refused = client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": "nope"})
    assert refused.status_code == 403
    response = client.post(
        f"/alerts/{alert_id}/acknowledge",
        data={"csrf_token": csrf(page)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and 'data-status="acknowledged"' in response.text
    with session_scope(app.state.engine) as session:
        assert session.get(Alert, alert_id).status == "acknowledged"
        entry = session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.action == "alert_acknowledge", AuditEntry.target == f"alert:{alert_id}"
            )
        ).one()
        assert entry.actor == people.csm and entry.detail["via"] == "dashboard"


def test_a_csm_cannot_act_on_someone_elses_alert_and_a_viewer_on_none(app, login, people, csrf):
    other = _alert_of(app, people.admin)
    csm = login(people.csm)
    token = csrf(csm.get("/alerts").text)
    assert csm.post(f"/alerts/{other}/resolve", data={"csrf_token": token}).status_code == 403
    viewer = login(people.viewer)
    page = viewer.get("/alerts").text
    assert "Acknowledge" not in page
    token = csrf(page)  # the logout form's token
    assert viewer.post(f"/alerts/{other}/resolve", data={"csrf_token": token}).status_code == 403
    with session_scope(app.state.engine) as session:
        assert session.get(Alert, other).status == "open"


def test_snooze_takes_a_known_number_of_days(app, login, people, csrf):
    client = login(people.admin)
    alert_id = _alert_of(app, people.admin)
    token = csrf(client.get("/alerts").text)
    bad = client.post(f"/alerts/{alert_id}/snooze", data={"csrf_token": token, "days": "365"})
    assert bad.status_code == 409 and "snooze days must be one of" in bad.text
    good = client.post(f"/alerts/{alert_id}/snooze", data={"csrf_token": token, "days": "3"})
    assert good.status_code == 200  # redirected back to the inbox
    with session_scope(app.state.engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert.status == "snoozed"
        assert 2.9 < (alert.snoozed_until - alert.updated_at).total_seconds() / 86400 < 3.1


def test_logout_ends_the_session(login, people, csrf):
    client = login(people.viewer)
    token = csrf(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_every_page_has_a_friendly_empty_state_on_an_empty_book(tmp_path, csrf):
    settings = Settings(data_dir=tmp_path / "empty", secure_cookies=False, secret_key="e" * 40)
    engine = get_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        create_user(session, "solo@example.com", "a long password", "analyst")
    engine.dispose()
    app = create_app(settings)
    client = TestClient(app)
    token = csrf(client.get("/login").text)
    form = {"email": "solo@example.com", "password": "a long password", "csrf_token": token}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    expected = {
        "/": "No revenue yet",
        "/accounts": "No accounts match",
        "/alerts": "Inbox zero",
        "/cohorts": "No cohorts yet",
        "/segments": "No segments yet",
        "/model": "No model trained yet",
        "/quality": "No report",
    }
    for path, text in expected.items():
        response = client.get(path)
        assert response.status_code == 200 and text in response.text, path
    app.state.engine.dispose()


def test_pages_say_what_to_run_when_the_vendor_scripts_are_missing(login, people, monkeypatch):
    monkeypatch.setattr(
        "tenure.web.rendering.missing_assets", lambda _dir: ["plotly.min.js", "htmx.min.js"]
    )
    page = login(people.viewer).get("/").text
    assert 'id="assets-missing"' in page and "python -m tenure.web.assets" in page
    assert "/static/vendor/plotly.min.js" not in page and "/static/app.js" in page


def test_a_csm_inbox_lists_only_their_alerts(login, people):
    page = login(people.csm).get("/alerts", params={"status": "active"}).text
    owners = set(re.findall(r'class="ellipsis muted" title="([^"]*)"', page))
    assert owners == {people.csm}
    everyone = login(people.viewer).get("/alerts").text
    assert {people.csm, people.admin} <= set(
        re.findall(r'class="ellipsis muted" title="([^"]*)"', everyone)
    )


def test_quality_page_flags_a_drifted_churn_model(login, people, book):
    """The newest drift report (written by the scoring stage) shows on the data-quality page."""
    from datetime import date

    import numpy as np
    import pandas as pd

    from tenure.churn import drift
    from tenure.churn.scoring import save_drift

    rng = np.random.default_rng(7)
    training = pd.DataFrame({"logins_30d": rng.poisson(20, 500).astype(float)})
    today = pd.DataFrame({"logins_30d": rng.poisson(20, 500).astype(float) + 30})
    report = drift.drift_report(
        drift.build_references(training, ["logins_30d"], []),
        drift.numeric_reference(pd.Series(rng.beta(2, 8, 500))),
        today,
        rng.beta(2, 8, 500),
    )
    report.update(as_of="2099-01-01", model="churn", model_version="9")
    save_drift(book, date(2099, 1, 1), report)
    path = book.data_dir / "churn" / "drift-20990101.json"
    try:
        page = login(people.viewer).get("/quality").text
    finally:
        path.unlink()
    section = page[page.index('id="dq-drift"') :]
    assert "drifted" in section[:600] and "logins_30d" in section
