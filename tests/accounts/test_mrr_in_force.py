"""One MRR in force for every consumer: API, dashboard, health, segments, the metrics stage.

A boundary book as of D = 2025-06-30 (clock frozen at 12:00 UTC on D; T = 2025-07-01 00:00):
rows that start and end exactly at midnight, one that changes MRR at 00:00, rows that start or
end later on D, and USD plus EUR at the configured rate 1.1. Expected values by hand below.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from tenure.accounts.models import Account, Subscription
from tenure.accounts.schemas import Money, Reader
from tenure.api.app import create_app
from tenure.auth import service as auth_service
from tenure.clock import FrozenClock, use_clock
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.health.inputs import active_accounts
from tenure.metrics.daily import daily_account_mrr
from tenure.segments.frame import account_frame
from tenure.warehouse.stages.subscriptions import app_db_subscriptions
from tenure.web import service as web

D = date(2025, 6, 30)
NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)
T = datetime(2025, 7, 1, tzinfo=UTC)
JUNE_1 = datetime(2025, 6, 1, tzinfo=UTC)
OLD = datetime(2025, 1, 1, tzinfo=UTC)
RATES = {"USD": 1.0, "EUR": 1.1}
# account -> rows (mrr minor units, currency, started_at, ended_at)
BOOK = {
    # ends exactly at T: its last instant is on D, so it counts on D
    "ends_at_midnight": [(10_000, "USD", OLD, T)],
    # starts later on D: in force at D's last instant (an instant rule at noon missed it)
    "starts_later_on_d": [(20_000, "USD", datetime(2025, 6, 30, 18, tzinfo=UTC), None)],
    # 300 -> 400 at exactly 00:00 on June 1: May's month-end is 300, D is 400
    "changes_at_midnight": [(30_000, "USD", OLD, JUNE_1), (40_000, "USD", JUNE_1, None)],
    # EUR 100 × 1.1 = 110 plus USD 50 = 160 (health summed 15 000 "minor units" = 150)
    "two_currencies": [(10_000, "EUR", OLD, None), (5_000, "USD", OLD, None)],
    # 333 × 1.1 = 366.3 -> rounded half up per row to 366 minor units
    "rounding": [(333, "EUR", OLD, None)],
    # ends later on D: no longer in force at D's last instant
    "ends_later_on_d": [(50_000, "USD", OLD, datetime(2025, 6, 30, 18, tzinfo=UTC))],
    # starts exactly at T: belongs to July 1
    "starts_at_midnight": [(70_000, "USD", T, None)],
}
EXPECTED = {
    "ends_at_midnight": 100.0,
    "starts_later_on_d": 200.0,
    "changes_at_midnight": 400.0,
    "two_currencies": 160.0,
    "rounding": 3.66,
    "ends_later_on_d": 0.0,
    "starts_at_midnight": 0.0,
}
MAY_END = {**dict.fromkeys(EXPECTED, 0.0), "changes_at_midnight": 300.0}
MAY_END |= {"ends_at_midnight": 100.0, "two_currencies": 160.0, "rounding": 3.66}
MAY_END |= {"ends_later_on_d": 500.0}


@pytest.fixture
def book_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Return settings (USD reporting, EUR at 1.1) of a migrated app DB holding BOOK."""
    settings = Settings(
        data_dir=tmp_path / "data", secret_key="k" * 40, secure_cookies=False, fx_rates=RATES
    )
    engine = get_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        for name, rows in BOOK.items():
            account = Account(external_id=name, name=name, created_at=OLD, attributes={})
            session.add(account)
            session.flush()
            for i, (mrr, currency, started, ended) in enumerate(rows):
                session.add(_row(account.id, f"{name}-{i}", mrr, currency, started, ended))
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        monkeypatch.setattr(auth_service, "_HASHER", cheap)
        auth_service.create_user(session, "admin@example.com", "correct horse battery", "admin")
    engine.dispose()
    with use_clock(FrozenClock(NOW)):
        yield settings


def _row(account_id, external_id, mrr, currency, started, ended) -> Subscription:
    return Subscription(
        account_id=account_id, external_id=external_id, plan="pro", status="active", mrr=mrr,
        currency=currency, quantity=1, started_at=started, ended_at=ended,
    )  # fmt: skip


@pytest.fixture
def api(book_settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """Return an API client and an admin's headers."""
    app = create_app(book_settings, dashboard=False)
    with TestClient(app) as client:
        form = {"grant_type": "password", "username": "admin@example.com"}
        token = client.post("/v1/auth/token", data=form | {"password": "correct horse battery"})
        yield client, {"Authorization": "Bearer " + token.json()["access_token"]}
    app.state.engine.dispose()


def _ids(engine: sa.Engine) -> dict[int, str]:
    with session_scope(engine) as session:
        return dict(session.execute(sa.select(Account.id, Account.external_id)).all())


def test_every_consumer_gives_the_hand_computed_mrr_in_force(book_settings, api):
    client, headers = api
    engine = get_engine(book_settings)
    names, money = _ids(engine), Money.from_settings(book_settings)
    by_name = client.get("/v1/accounts?limit=500", headers=headers).json()["items"]
    assert {r["external_id"]: r["mrr"] for r in by_name} == EXPECTED
    by_mrr = client.get("/v1/accounts?limit=500&sort=-mrr", headers=headers).json()["items"]
    assert {r["external_id"]: r["mrr"] for r in by_mrr} == EXPECTED
    for account_id, name in names.items():
        view = client.get(f"/v1/accounts/{account_id}", headers=headers).json()
        assert view["mrr_history"][-1]["mrr"] == EXPECTED[name], name
        may = [p["mrr"] for p in view["mrr_history"] if p["at"].startswith("2025-06-01")]
        assert may == [MAY_END[name]], name
    with session_scope(engine) as session:
        filters = web.parse_filters({"sort": "name"})
        page = web.list_accounts(db_session=session, filters=filters, money=money, day=D)
        assert {r.external_id: r.mrr for r in page.rows} == EXPECTED
        for account_id, name in names.items():
            context = web.account_context(
                db_session=session, account_id=account_id, money=money, today=D,
                reader=Reader("admin", "admin@example.com"),
            )  # fmt: skip
            assert context["mrr_now"] == EXPECTED[name]
            month_ends = {p.day: p.mrr for p in context["mrr_history"]}
            assert month_ends[date(2025, 5, 31)] == MAY_END[name], name
        health = active_accounts(session, D, money=money)
        health_mrr = {names[i]: m / 100 for i, m in zip(health.account_id, health.mrr, strict=True)}
    with engine.connect() as conn:
        frame = account_frame(conn, D, currency="USD", rates=money.rates).to_pylist()
    segments = {names[r["account_id"]]: r["mrr"] for r in frame}
    stage = daily_account_mrr(app_db_subscriptions(engine), [D], currency="USD", rates=money.rates)
    rows = zip(stage["account_id"].to_pylist(), stage["mrr"].to_pylist(), strict=True)
    metrics = {names[i]: m / 100 for i, m in rows}
    engine.dispose()
    paying = {name: value for name, value in EXPECTED.items() if value > 0}
    assert health_mrr == paying
    assert segments == EXPECTED
    assert metrics == paying


def test_a_currency_without_a_rate_is_left_out_by_every_reader_and_listed(book_settings, api):
    client, headers = api
    engine = get_engine(book_settings)
    with session_scope(engine) as session:
        account = session.scalar(sa.select(Account).where(Account.external_id == "rounding"))
        session.add(_row(account.id, "yen", 1_000, "JPY", OLD, None))
    with capture_logs() as logs:
        rows = client.get("/v1/accounts?limit=500", headers=headers)
    assert rows.status_code == 200
    assert {r["external_id"]: r["mrr"] for r in rows.json()["items"]} == EXPECTED
    view = client.get(f"/v1/accounts/{account.id}", headers=headers)
    assert view.status_code == 200
    assert view.json()["mrr_history"][-1]["mrr"] == EXPECTED["rounding"]
    logged = " ".join(entry["event"] for entry in logs)
    assert "no exchange rate for JPY" in logged and "fx_rates" in logged
    money = Money.from_settings(book_settings)
    with session_scope(engine) as session:
        page = web.list_accounts(
            db_session=session, filters=web.parse_filters({}), money=money, day=D
        )
        assert {r.external_id: r.mrr for r in page.rows} == EXPECTED
        health = active_accounts(session, D, money=money)
        assert health.mrr.notna().all()
    with engine.connect() as conn:
        frame = account_frame(conn, D, currency="USD", rates=money.rates).to_pylist()
    assert {r["mrr"] for r in frame if r["account_id"] == account.id} == {EXPECTED["rounding"]}
    engine.dispose()
