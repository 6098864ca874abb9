"""The dashboard in a real browser: Debian's chromium driven by Playwright, app under uvicorn.

Screenshots of every page go to the test's tmp dir and are copied to /tmp/web-shots/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tenure import clock
from tenure.accounts.models import Account
from tenure.alerts.models import Alert
from tenure.api.app import create_app
from tenure.auth.service import create_write_key
from tenure.db.session import session_scope
from tenure.notifications import Notification, get_bus
from tenure.web.assets import missing_assets

pytestmark = pytest.mark.browser

SHOTS_COPY = Path("/tmp/web-shots")
PAGES = {
    "overview": "/",
    "accounts": "/accounts",
    "account": "/accounts/3",
    "alerts": "/alerts",
    "cohorts": "/cohorts",
    "segments": "/segments",
    "model": "/model",
    "quality": "/quality",
    "experiments": "/experiments",
    "experiment": "/experiments/onboarding-call",
}


@pytest.fixture(scope="module")
def app(book):
    """Return the app with Secure cookies on, as shipped: chromium keeps them on 127.0.0.1."""
    application = create_app(book.model_copy(update={"secure_cookies": True}))
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def browser(chromium) -> object:
    """Return the shared headless chromium once the dashboard's scripts are installed."""
    if missing := missing_assets():
        pytest.skip(f"dashboard scripts {missing} missing: run python -m tenure.web.assets")
    return chromium


@pytest.fixture(scope="module")
def session(browser, live_server, people):
    """Return a logged-in page (admin) and the console errors it has collected."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    assert "/login" in page.url
    page.fill("input[name=email]", people.admin)
    page.fill("input[name=password]", people.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    yield page, errors
    context.close()


def save(page, shots: Path, name: str) -> None:
    """Screenshot the page into the test's folder and a copy for people to look at."""
    target = shots / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    SHOTS_COPY.mkdir(parents=True, exist_ok=True)
    shutil.copy(target, SHOTS_COPY / target.name)


def wait_for_charts(page) -> int:
    """Wait until every chart on the page is drawn by Plotly; return how many there are."""
    expected = page.locator("[data-chart]").count()
    if expected:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-chart].drawn .main-svg').length >= n",
            arg=expected,
            timeout=15_000,
        )
        empty = page.evaluate(
            "() => [...document.querySelectorAll('[data-chart]')]"
            ".filter(g => !(g._fullData && g._fullData.length)).map(g => g.id)"
        )
        assert empty == [], f"charts drawn without data: {empty}"
    return expected


def test_every_page_renders_its_charts_with_no_console_errors(session, shots):
    page, errors = session
    errors.clear()
    drawn = {}
    for name, path in PAGES.items():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        drawn[name] = wait_for_charts(page)
        save(page, shots, name)
        assert page.locator("main h1").count() == 1, name
    assert drawn["overview"] >= 4 and drawn["account"] >= 2 and drawn["experiment"] == 1
    page.goto("/cohorts?matrix=net_mrr")
    assert page.locator("#cohort-heatmap td.cell").count() > 10
    assert errors == []


def test_filtering_accounts_updates_the_list_in_place_and_opens_an_account(session, shots):
    page, errors = session
    errors.clear()
    page.goto("/accounts")
    page.evaluate("window.__marker = 'same page'")
    before = page.locator("#accounts-table tbody tr").count()
    page.select_option("select[name=tier]", "red")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#accounts-table tbody tr')]"
        ".every(r => r.querySelector('.tier-red'))"
    )
    assert page.evaluate("window.__marker") == "same page"  # HTMX swapped, no reload
    assert "tier=red" in page.url
    red = page.locator("#accounts-table tbody tr").count()
    assert 0 < red <= before
    save(page, shots, "accounts-filtered")
    name = page.locator("#accounts-table tbody tr a").first.inner_text()
    page.locator("#accounts-table tbody tr a").first.click()
    page.wait_for_selector("main h1")
    assert page.locator("main h1").inner_text() == name
    assert wait_for_charts(page) >= 2
    assert errors == []


def test_acknowledging_an_alert_updates_its_row(session, shots):
    page, errors = session
    errors.clear()
    page.goto("/alerts?status=open")
    row = page.locator("tr.alert-row.status-open").first
    row_id = row.get_attribute("id")
    row.locator("button", has_text="Acknowledge").click()
    page.wait_for_selector(f"#{row_id} .status[data-status=acknowledged]")
    save(page, shots, "alert-acknowledged")
    assert errors == []


def _new_alert(app, account_id: int, text: str) -> int:
    """Store an open alert as the alert evaluator would; return its id."""
    now = clock.now()
    with session_scope(app.state.engine) as db:
        name = db.get(Account, account_id).name
        alert = Alert(
            account_id=account_id, rule="usage_drop", kind="usage", severity="high",
            owner="admin@example.com", status="open", message=f"{name}: {text}", facts={},
            open_key=f"{account_id}:usage_drop", opened_at=now, updated_at=now,
        )  # fmt: skip
        db.add(alert)
        db.flush()
        return alert.id


def test_a_new_alert_shows_up_live_without_reload(session, shots, app):
    page, errors = session
    errors.clear()
    page.goto("/alerts")
    page.wait_for_function("() => document.body.dataset.liveReady === '1'")
    page.evaluate("window.__marker = 'same page'")
    alert_id = _new_alert(app, 3, "logins fell 70 %")
    assert page.locator(f"#alert-{alert_id}").count() == 0
    payload = {"alert_id": alert_id, "rule": "usage_drop", "message": "logins fell 70 %"}
    assert get_bus().publish(Notification("alert_opened", 3, payload)) >= 1
    toast = page.wait_for_selector(".toast.kind-alert_opened", timeout=10_000)
    assert "logins fell 70 %" in toast.inner_text()
    page.wait_for_selector(f"#alert-{alert_id}:has-text('logins fell 70 %')", timeout=10_000)
    assert page.locator('[data-nav="alerts"] .count').inner_text() == "1"
    assert page.evaluate("window.__marker") == "same page"
    save(page, shots, "live-toast")
    assert errors == []


def test_an_event_posted_to_track_shows_up_live_on_its_account(session, shots, app, live_server):
    page, errors = session
    errors.clear()
    with session_scope(app.state.engine) as db:
        _row, key = create_write_key(db, "browser-test")
        external_id = db.get(Account, 3).external_id
    page.goto("/accounts/3")
    page.wait_for_function("() => document.body.dataset.liveReady === '1'")
    page.evaluate("window.__marker = 'same page'")
    assert page.locator("#event-list li", has_text="Report Exported Live").count() == 0
    message = {
        "type": "track",
        "event": "Report Exported Live",
        "userId": "user-1",
        "messageId": "browser-test-1",
        "context": {"groupId": external_id},
    }
    response = httpx.post(f"{live_server.url}/v1/track", json=message, auth=(key, ""))
    assert response.status_code == 200, response.text
    page.wait_for_selector("#event-list li:has-text('Report Exported Live')", timeout=10_000)
    assert page.locator(".toast.kind-events_recorded").count() == 1
    assert page.evaluate("window.__marker") == "same page"
    save(page, shots, "live-event")
    assert errors == []
