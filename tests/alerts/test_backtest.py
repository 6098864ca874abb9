"""Alert rules replayed on past days: precision, base rate and lift against later churn."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from tenure.accounts.schemas import Money
from tenure.alerts import service
from tenure.alerts.backtest import backtest_alert_rules, evaluation_days
from tenure.cli.main import app
from tenure.db.session import session_scope

from ..factories import add_account, add_invoice, add_subscription

DAY = date(2025, 3, 1)


def at(day: date, offset: int) -> datetime:
    """Return midday of day + offset days (UTC)."""
    return datetime.combine(day + timedelta(days=offset), datetime.min.time(), UTC) + timedelta(
        hours=12
    )


def seed(session) -> None:
    """Ten accounts; four with a failed payment two days before DAY, three of them churn later;
    one of the six others churns too."""
    for i in range(10):
        account = add_account(session, f"bt-{i}", owner="csm@x.io")
        ended = at(DAY, 30) if i in (0, 1, 2, 7) else None
        add_subscription(session, account, ended_at=ended)
        if i < 4:
            add_invoice(session, account, status="failed", issued_at=at(DAY, -2))
    service.ensure_default_rules(session)


def test_precision_base_rate_and_lift_by_hand(engine, settings):
    with session_scope(engine) as session:
        seed(session)
        lines = backtest_alert_rules(
            session, Money.from_settings(settings), end=DAY + timedelta(days=90), days=0
        )
    by_rule = {line.rule: line for line in lines}
    failed = next(line for line in lines if line.kind == "failed_payment")
    assert (failed.alerts, failed.churned) == (4, 3)
    assert failed.precision == pytest.approx(0.75) and failed.base_rate == pytest.approx(0.4)
    assert failed.lift == pytest.approx(0.75 / 0.4)
    assert failed.alerts_per_csm_per_week == pytest.approx(4.0)
    quiet = [line for name, line in by_rule.items() if line.kind != "failed_payment"]
    assert all(line.alerts == 0 and line.precision is None for line in quiet)


def test_replay_days_end_a_horizon_before_the_data():
    days = evaluation_days(date(2025, 6, 30), 14, 7, 90)
    assert days == [date(2025, 3, 18), date(2025, 3, 25), date(2025, 4, 1)]


def test_cli_json(engine, settings, cli, monkeypatch):
    monkeypatch.setenv("TENURE_DATA_DIR", str(settings.data_dir))
    with session_scope(engine) as session:
        seed(session)
    end = (DAY + timedelta(days=90)).isoformat()
    result = cli.invoke(app, ["alerts", "backtest", "--end", end, "--days", "0", "--json"])
    assert result.exit_code == 0, result.output
    lines = json.loads(result.output)
    keys = {"rule", "precision", "base_rate", "lift", "alerts_per_csm_per_week"}
    assert lines and all(keys <= set(line) for line in lines)
