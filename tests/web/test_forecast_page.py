"""The dashboard's /forecast page: bands for three series, the backtest table, the calibration."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from tenure.api.app import create_app
from tenure.db.session import session_scope
from tenure.reports.forecast.service import SNAPSHOT, stored_forecast

from .conftest import VIEWER, seed_book


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """Return the app on a simulated book with 14 months of history."""
    settings = seed_book(tmp_path_factory.mktemp("forecast"), accounts=30, months=14)
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.mark.slow  # the first request forecasts the book with its rolling backtest
def test_forecast_page_draws_bands_and_the_backtest(app, login) -> None:
    page = login(VIEWER).get("/forecast")
    assert page.status_code == 200 and 'data-nav="forecast"' in page.text
    for key in ("mrr", "customers", "logo_churn"):
        assert f'id="backtest-{key}"' in page.text
        match = re.search(rf'id="chart-forecast-{key}" data-chart="([^"]+)"', page.text)
        spec = json.loads(match.group(1).replace("&#34;", '"').replace("&quot;", '"'))
        names = [trace["name"] for trace in spec["data"]]
        assert {"80 % interval", "95 % interval", "actual", "forecast"} <= set(names)
        low80, high80 = spec["data"][2]["y"], spec["data"][3]["y"]
        low95, high95 = spec["data"][0]["y"], spec["data"][1]["y"]
        assert all(
            a <= b <= c <= d for a, b, c, d in zip(low95, low80, high80, high95, strict=True)
        )
    assert "calibrated on the backtest" in page.text or "Too little history" in page.text
    # The page stored its forecast: the next request (and the scheduled reports) reuse it.
    with session_scope(app.state.engine) as session:
        assert stored_forecast(session, 12)["last_month"]
    assert SNAPSHOT == "forecast"


def test_account_360_shows_subscription_clv(app, login) -> None:
    from tenure.accounts.schemas import Money
    from tenure.accounts.service import mrr_in_force_query
    from tenure.clock import now

    with session_scope(app.state.engine) as session:
        query = mrr_in_force_query(db_session=session, day=now().date(), money=Money.default())
        account_id = next(a for a, mrr, _ in session.execute(query) if mrr > 0)
    page = login(VIEWER).get(f"/accounts/{account_id}")
    card = re.search(r'id="account-clv">.*?kpi-value">([^<]+)<', page.text, re.S)
    assert card and card.group(1).replace(",", "").isdigit(), card
    assert "more paid months" in page.text
