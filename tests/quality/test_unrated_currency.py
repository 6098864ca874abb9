"""A stored subscription in a currency without a rate is left out of the metrics and listed."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from tenure.cli import metrics
from tenure.cli.main import app
from tenure.metrics.serving import materialise


@pytest.fixture
def book(factory):
    """One USD subscription, one in ZZZ (no such currency) and two in JPY (no rate by default)."""
    started = factory.days_ago(120)
    factory.subscription(factory.account(), mrr=10_000, started_at=started)
    odd = factory.account()
    factory.subscription(odd, external_id="sub_zzz", currency="zzz", started_at=started)
    for external_id in ("sub_yen_1", "sub_yen_2"):
        factory.subscription(
            factory.account(), external_id=external_id, currency="JPY", started_at=started
        )
    return factory


def _invoke(settings, *args):
    if "metrics" not in {group.name for group in app.registered_groups}:
        metrics.register(app)
    return CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), *args])


def test_metrics_summary_leaves_unrated_rows_out(book, settings):
    """`metrics summary` runs: only the USD subscription counts (before: 'no exchange rate')."""
    result = _invoke(settings, "metrics", "summary", "--month", "2025-05", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert (figures["mrr_end"], figures["customers_end"]) == (100.0, 1)
    daily = _invoke(settings, "metrics", "mrr", "--as-of", "2025-05-31")
    assert daily.exit_code == 0, daily.output


def test_metrics_stage_stores_the_months(book, settings, engine):
    """The pipeline's metrics stage materialises the months instead of stopping."""
    stored = materialise(engine, settings, date(2025, 6, 30))
    assert stored["months"] >= 2 and stored["last_month"] == "2025-06"


def test_dq_report_lists_the_unrated_rows(book, settings):
    """`dq report --json` has a subscription validity finding naming each currency and row."""
    result = _invoke(settings, "dq", "report", "--json")
    assert result.exit_code == 0, result.output
    [finding] = [
        c
        for c in json.loads(result.stdout)["checks"]
        if c["rule"] == "currency has an exchange rate"
    ]
    assert (finding["table"], finding["check"], finding["score"]) == (
        "subscription",
        "validity",
        25.0,
    )
    assert "JPY 2 (sub_yen_1, sub_yen_2)" in finding["detail"]
    assert "ZZZ 1 (sub_zzz)" in finding["detail"]


def test_no_finding_when_every_currency_has_a_rate(factory, settings):
    """A book all in rated currencies gets no such finding."""
    factory.subscription(factory.account(), currency="EUR")
    result = _invoke(settings, "dq", "report", "--json")
    rules = {c["rule"] for c in json.loads(result.stdout)["checks"]}
    assert "currency has an exchange rate" not in rules
