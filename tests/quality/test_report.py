"""Gathering from a real SQLite app DB and DuckDB warehouse, with exact scores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenure.quality.flows import build_quality_report
from tenure.quality.scoring import BELOW_BAR, NO_DATA, PASS, CheckResult, QualityReport


def find(report: QualityReport, table: str, check: str, *, source=None, rule=None) -> CheckResult:
    """Return the one check of table with that kind (and source / rule)."""
    matches = [
        c
        for c in report.checks
        if (c.table, c.check) == (table, check)
        and (source is None or c.source == source)
        and (rule is None or c.rule == rule)
    ]
    assert len(matches) == 1, [c.to_dict() for c in matches]
    return matches[0]


@pytest.fixture
def report_of(engine, settings, frozen_clock):
    """Return a function building the report of the test's data as of the frozen clock."""
    return lambda: build_quality_report(engine=engine, settings=settings)


def test_empty_data_dir_is_no_data_everywhere(report_of):
    report = report_of()
    assert report.overall_score is None
    assert report.status == NO_DATA
    assert {c.status for c in report.checks} == {NO_DATA}
    assert "ticket" in report.no_data_tables and "events" in report.no_data_tables


def test_ticket_completeness_counts_blank_and_placeholder_values(factory, report_of):
    account = factory.account()
    for i in range(10):
        factory.ticket(account, priority={0: "", 1: " N/A "}.get(i, "high"))
    check = find(report_of(), "ticket", "completeness")
    assert (check.score, check.rows, check.status) == (80.0, 10, BELOW_BAR)
    assert "priority 2" in check.detail


def test_account_optional_fields_are_info_and_grouped_by_source(factory, report_of):
    factory.account(industry=None)
    factory.account(region="")
    factory.account(source="crm")
    report = report_of()
    optional = find(report, "account", "completeness_optional", source="file")
    assert (optional.score, optional.status, optional.weight) == (0.0, "info", 0.0)
    assert "industry 1, region 1" in optional.detail
    assert find(report, "account", "completeness", source="file").score == 100.0
    assert find(report, "account", "completeness_optional", source="crm").score == 100.0


def test_event_with_unknown_account_and_duplicate_message(factory, report_of):
    account = factory.account()
    factory.events(
        {"message_id": "m1", "account_id": account.id},
        {"message_id": "m2", "account_id": account.id},
        {"message_id": "m2", "account_id": account.id},
        {"message_id": "m3", "account_id": 999},
        {"message_id": "m4", "account_id": account.id, "source": "file", "name": " "},
    )
    report = report_of()
    referential = find(report, "events", "referential", source="segment")
    assert (referential.score, referential.rows) == (75.0, 4)
    assert "1 events" in referential.detail
    assert find(report, "events", "uniqueness", source="segment").score == 75.0
    assert find(report, "events", "completeness", source="segment").score == 100.0
    assert find(report, "events", "completeness", source="file").score == 0.0
    assert find(report, "events", "referential", source="file").score == 100.0


def test_freshness_against_cadence_with_a_frozen_clock(factory, report_of):
    account = factory.account(created_at=factory.days_ago(200))  # cadence 30 d: way past 4×
    factory.ticket(account, opened_at=factory.days_ago(14))  # cadence 7 d: 2 cadences old
    factory.ticket(account, opened_at=factory.days_ago(20))  # older: ignored
    factory.invoice(account, issued_at=factory.days_ago(35), paid_at=None)  # exactly on cadence
    factory.events({"message_id": "m1", "account_id": account.id, "ts": factory.days_ago(0.9)})
    report = report_of()
    # 100 × (4 − 14 / 7) / 3
    assert find(report, "ticket", "freshness").score == pytest.approx(200 / 3)
    assert find(report, "account", "freshness", source="file").score == 0.0
    assert find(report, "invoice", "freshness").score == 100.0
    assert find(report, "events", "freshness", source="segment").score == 100.0
    assert "14.0 d old" in find(report, "ticket", "freshness").detail


def test_validity_uses_the_latest_finished_run_per_file(factory, report_of):
    factory.import_run(
        path="a.csv", rows_read=10, rows_quarantined=5, started_at=factory.days_ago(3)
    )
    factory.import_run(
        [("priority", "blank priority")], path="a.csv", rows_read=10, rows_quarantined=1
    )
    factory.import_run(path="b.csv", rows_read=10, rows_quarantined=0)
    factory.import_run(path="b.csv", rows_read=10, rows_quarantined=10, finished_at=None)
    factory.import_run(path="b.csv", rows_read=0, status="failed", started_at=factory.now)
    factory.import_run(kind="telco", path="telco.csv", rows_read=4, rows_quarantined=1)
    report = report_of()
    tickets = find(report, "ticket", "validity", source="tickets")
    # (10 − 1 + 10 − 0) / 20: the older run of a.csv, the unfinished run of b.csv and its
    # failed re-run that read nothing are ignored.
    assert (tickets.score, tickets.rows, tickets.status) == (95.0, 20, PASS)
    assert "priority 1 (e.g. blank priority)" in tickets.detail
    telco = find(report, "import", "validity", source="telco")
    assert telco.score == 75.0


def test_consistency_rules(factory, report_of):
    account = factory.account()
    other = factory.account()
    days_ago = factory.days_ago
    factory.subscription(account, plan="pro", started_at=days_ago(300))  # overlaps the next
    factory.subscription(account, plan="pro", started_at=days_ago(100))
    factory.subscription(account, plan="basic", started_at=days_ago(300), ended_at=days_ago(200))
    factory.subscription(account, plan="basic", started_at=days_ago(200))  # contiguous: fine
    factory.subscription(account, plan="team", started_at=days_ago(50), ended_at=days_ago(60))
    factory.subscription(other, plan="pro", started_at=days_ago(100))  # other account: fine
    for kind, score in (("NPS", 11), ("CSAT", 0), ("nps", 10), ("CSAT", 5)):
        factory.survey(account, kind=kind, score=score)
    contact = factory.contact(other)
    factory.ticket(account, contact_id=contact.id, closed_at=factory.days_ago(2), csat=9)
    factory.ticket(other, contact_id=contact.id)
    report = report_of()

    subscriptions = find(report, "subscription", "consistency")
    assert subscriptions.score == pytest.approx(100 * 3 / 6)
    assert "overlaps another subscription of the same account and plan: 2" in subscriptions.detail
    assert "ended_at before started_at: 1" in subscriptions.detail
    surveys = find(report, "survey_response", "consistency")
    assert surveys.score == 50.0
    tickets = find(report, "ticket", "consistency")
    # One ticket closed before it opened and rated 9 on a 1–5 scale: one row broken of two.
    assert tickets.score == 50.0
    assert "csat outside 1–5: 1" in tickets.detail
    contacts = find(report, "ticket", "referential", rule="contact exists at the same account")
    assert contacts.score == 50.0
    assert find(report, "ticket", "referential", rule="account exists").score == 100.0


def test_below_bar_lists_checks_under_95_biggest_drag_first(factory, report_of):
    account = factory.account(created_at=factory.days_ago(1))
    for i in range(10):
        factory.ticket(account, priority="" if i < 2 else "high")
    factory.events(
        *({"message_id": f"m{i}", "account_id": account.id if i else 999} for i in range(4))
    )
    report = report_of()
    below = [(c.table, c.check, c.source) for c in report.below_bar]
    # Both checks weigh 3; the events miss 25 points, the tickets 20.
    assert below == [("events", "referential", "segment"), ("ticket", "completeness", None)]
    # 30 weight points scored (account 8, ticket 11, events 11); 3 × 20 + 3 × 25 = 135 missed.
    assert report.overall_score == pytest.approx(100 - 135 / 30)
    assert report.status == PASS  # the overall meets the bar, yet two checks are listed below it
    assert all(c.score >= 95 for c in report.checks if c.status == PASS)


def test_future_timestamps_and_malformed_emails_break_consistency(factory, report_of):
    account = factory.account()
    factory.invoice(account)
    factory.invoice(account, issued_at=factory.now + timedelta(hours=1), paid_at=None)
    factory.invoice(account, issued_at=factory.now + timedelta(seconds=60), paid_at=None)
    factory.contact(account, email="ana.example.com")
    factory.contact(account, email=None)
    factory.events(
        {"message_id": "m1", "account_id": account.id, "ts": factory.now + timedelta(days=1)}
    )
    report = report_of()
    # The default tolerance is 300 s: one minute ahead passes, one hour ahead does not.
    invoices = find(report, "invoice", "consistency")
    assert (invoices.score, invoices.detail) == (
        pytest.approx(200 / 3),
        "issued_at in the future: 1",
    )
    contacts = find(report, "contact", "consistency")
    assert (contacts.score, contacts.detail) == (50.0, "email without @: 1")
    assert find(report, "contact", "completeness").score == 50.0
    events = find(report, "events", "consistency", source="segment")
    assert events.score == 0.0
    assert "ts later than received_at: 1" in events.detail
    assert "ts in the future: 1" in events.detail


def test_a_subscription_currency_without_an_exchange_rate_is_a_finding(factory, report_of):
    account = factory.account()
    factory.subscription(account, plan="pro", currency="JPY")  # ISO, but no configured rate
    factory.subscription(account, plan="team", currency="EUR")
    subscriptions = find(report_of(), "subscription", "validity")
    assert subscriptions.score == 50.0
    assert "no exchange rate for: JPY 1" in subscriptions.detail
