"""Marketing spend: the `spend` import, CAC and payback on a hand-computed book, the CLI keys.

The book (May 2025, reporting currency USD, default rates EUR = 1.0350 USD):
- a1 pays 100 USD since March; a2 (100), a3 (150) and a4 (50 USD) start in May, so May has
  3 new customers and 300.00 of new MRR.
- May spend: 1,200.00 USD (ads) + 500.00 EUR (events) = 1,200.00 + 517.50 = 1,717.50 USD;
  April spend: 999.00 USD (no new customers in April); June: no spend rows.
- CAC = 1,717.50 ÷ 3 = 572.50; new MRR per new customer = 300 ÷ 3 = 100.00;
  payback = 572.50 ÷ (100.00 × 0.8) = 7.15625 months (gross margin 0.5: 572.50 ÷ 50 = 11.45).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tenure.cli.main import app
from tenure.ingest.flows import import_file
from tenure.ingest.models import QuarantinedRow
from tenure.metrics import spend
from tenure.metrics.models import MarketingSpend

MAY = 2025 * 12 + 4
SPEND_HEADER = ["spend_id", "month", "channel", "amount", "currency"]
BOOK = {
    "accounts": (
        ["account_id", "name", "created_at"],
        [[f"a{i}", f"Account {i}", "2025-01-01"] for i in range(1, 5)],
    ),
    "subscriptions": (
        ["subscription_id", "account_id", "plan", "mrr", "currency", "started_at"],
        [
            ["s1", "a1", "pro", "100", "USD", "2025-03-01"],
            ["s2", "a2", "pro", "100", "USD", "2025-05-10"],
            ["s3", "a3", "max", "150", "USD", "2025-05-20"],
            ["s4", "a4", "lite", "50", "USD", "2025-05-31T23:00:00Z"],
        ],
    ),
    "spend": (
        SPEND_HEADER,
        [
            ["sp1", "2025-05", "ads", "1200.00", "USD"],
            ["sp2", "2025-05-15", "events", "500", "eur"],
            ["sp3", "2025-04", "ads", "999", "USD"],
        ],
    ),
}


def _csv(path, header, rows):
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return path


def _spend_rows(engine):
    columns = (MarketingSpend.external_id, MarketingSpend.month, MarketingSpend.channel)
    columns += (MarketingSpend.amount, MarketingSpend.currency)
    with engine.connect() as conn:
        query = sa.select(*columns).order_by(MarketingSpend.external_id)
        return [tuple(r) for r in conn.execute(query)]


def _quarantined(engine, run_id):
    with engine.connect() as conn:
        query = (
            sa.select(QuarantinedRow.line, QuarantinedRow.field, QuarantinedRow.reason)
            .where(QuarantinedRow.import_run_id == run_id)
            .order_by(QuarantinedRow.id)
        )
        return [tuple(r) for r in conn.execute(query)]


@pytest.mark.usefixtures("frozen_clock")
def test_spend_import_stores_the_month_and_minor_units(settings, engine, tmp_path):
    path = _csv(tmp_path / "spend.csv", *BOOK["spend"])
    result = import_file("spend", path, settings=settings, engine=engine)
    assert (result.exit_code, result.rows_inserted) == (0, 3)
    may, april = datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
    assert _spend_rows(engine) == [
        ("sp1", may, "ads", 120000, "USD"),
        ("sp2", may, "events", 50000, "EUR"),
        ("sp3", april, "ads", 99900, "USD"),
    ]
    again = import_file("spend", path, settings=settings, engine=engine)
    assert (again.rows_inserted, again.rows_updated) == (0, 3)


@pytest.mark.usefixtures("frozen_clock")
def test_bad_spend_rows_are_quarantined(settings, engine, tmp_path):
    rows = [
        ["ok", "2025-05", "ads", "10", "USD"],
        ["neg", "2025-05", "ads", "-10", "USD"],
        ["cur", "2025-05", "ads", "10", "XYZ"],
        ["mon", "May 2025", "ads", "10", "USD"],
        ["fut", "2025-08", "ads", "10", "USD"],
        ["", "2025-05", "ads", "10", "USD"],
    ]
    path = _csv(tmp_path / "spend.csv", SPEND_HEADER, rows)
    result = import_file("spend", path, settings=settings, engine=engine)
    assert (result.exit_code, result.rows_loaded, result.rows_quarantined) == (3, 1, 5)
    found = _quarantined(engine, result.run_id)
    assert [(line, field) for line, field, _ in found] == [
        (3, "amount"),
        (4, "currency"),
        (5, "month"),
        (6, "month"),
        (7, "spend_id"),
    ]
    fragments = ["negative amount", "unknown currency 'XYZ'", "unparseable month 'May 2025'"]
    fragments += ["timestamp in the future", "missing required value"]
    for (_, _, reason), fragment in zip(found, fragments, strict=True):
        assert fragment in reason, reason
    assert [r[0] for r in _spend_rows(engine)] == ["ok"]


def test_cac_and_payback_formulas():
    assert spend.cac(1717.5, 3) == pytest.approx(572.5)
    assert spend.cac(100.0, 0) is None
    assert spend.cac_payback_months(572.5, 300.0, 3, 0.8) == pytest.approx(7.15625)
    assert spend.cac_payback_months(None, 300.0, 3, 0.8) is None
    assert spend.cac_payback_months(572.5, 0.0, 3, 0.8) is None


@pytest.fixture
def book(cli, tmp_path, frozen_clock):
    """Import BOOK through the CLI; return the data dir."""
    data = str(tmp_path / "data")
    for kind, (header, rows) in BOOK.items():
        path = _csv(tmp_path / f"{kind}.csv", header, rows)
        result = cli.invoke(app, ["--data-dir", data, "import", kind, str(path)])
        assert result.exit_code == 0, result.output
    return data


def _summary(cli, data, month, env=None):
    args = ["--data-dir", data, "metrics", "summary", "--month", month, "--json"]
    result = cli.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_summary_has_spend_cac_and_payback(cli, book):
    body = _summary(cli, book, "2025-05")
    assert (body["new_customers"], body["new"]) == (3, 300.0)
    assert body["spend"] == 1717.5
    assert body["cac"] == 572.5
    assert body["cac_payback_months"] == pytest.approx(7.15625)


def test_gross_margin_setting_changes_the_payback(cli, book):
    body = _summary(cli, book, "2025-05", env={"TENURE_GROSS_MARGIN": "0.5"})
    assert body["cac_payback_months"] == pytest.approx(11.45)


def test_months_without_spend_or_new_customers(cli, book):
    june = _summary(cli, book, "2025-06")
    assert (june["spend"], june["cac"], june["cac_payback_months"]) == (None, None, None)
    april = _summary(cli, book, "2025-04")
    assert april["spend"] == 999.0 and april["new_customers"] == 0
    assert april["cac"] is None and april["cac_payback_months"] is None


def test_summary_table_shows_cac(cli, book):
    args = ["--data-dir", book, "metrics", "summary", "--month", "2025-05"]
    result = cli.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "1,717.50" in result.stdout and "572.50" in result.stdout


def test_spend_in_a_currency_without_a_rate_is_a_clear_error(cli, book, tmp_path):
    path = _csv(tmp_path / "chf.csv", SPEND_HEADER, [["sp9", "2025-05", "ads", "100", "CHF"]])
    assert cli.invoke(app, ["--data-dir", book, "import", "spend", str(path)]).exit_code == 0
    args = ["--data-dir", book, "metrics", "summary", "--month", "2025-05", "--json"]
    result = cli.invoke(app, args, env={"COLUMNS": "4000"})
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "no exchange rate for CHF" in message and "fx_rates table of tenure.toml" in message
    body = _summary(cli, book, "2025-05", env={"TENURE_FX_RATES": '{"CHF": 1.10}'})
    assert body["spend"] == 1827.5  # 1,717.50 + 100 CHF × 1.10
