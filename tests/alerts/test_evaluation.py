"""Each rule kind fires for exactly the accounts built to trip it, as of the frozen day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tenure.accounts.models import Invoice, Subscription, SurveyResponse, Ticket
from tenure.alerts import evaluation, flows, service
from tenure.alerts.models import Alert, AlertDelivery, AlertRule
from tenure.alerts.rules import validate_rule
from tenure.churn.models import ChurnScore
from tenure.db.session import session_scope
from tenure.events.models import InboxEvent
from tenure.notifications import Notification, get_bus
from tenure.pipeline import run_day
from tenure.stage import StageContext

DAY = date(2025, 6, 30)


def ago(days: int, hour: int = 12) -> datetime:
    """Return an instant `days` days before the frozen day."""
    day = DAY - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def fired(engine, kind: str, params: dict | None = None, **extra) -> set[int]:
    """Return the accounts a rule of kind trips as of DAY."""
    spec = validate_rule({"name": "r", "kind": kind, "params": params or {}})
    rule = AlertRule(name="r", kind=kind, params=spec["params"])
    with session_scope(engine) as session:
        active = evaluation.active_account_ids(session, DAY)
        triggers = evaluation.evaluate_rule(session, rule, DAY, active=active, **extra)
    return {t.account_id for t in triggers}


def test_tier_change_compares_with_the_previous_scored_day(engine, book):
    """yellow→red and green→(gap)→red fire; red→red and a first-ever red do not."""
    changed, stayed, first, gap = (book.account(x) for x in ("a", "b", "c", "d"))
    book.health(changed, DAY - timedelta(days=1), 60, "yellow")
    book.health(changed, DAY, 40, "red")
    book.health(stayed, DAY - timedelta(days=1), 45, "red")
    book.health(stayed, DAY, 40, "red")
    book.health(first, DAY, 30, "red")
    book.health(gap, DAY - timedelta(days=3), 80, "green")
    book.health(gap, DAY, 45, "red")
    assert fired(engine, "tier_change", {"to": "red"}) == {changed, gap}


def test_score_drop_within_window(engine, book):
    """A 20-point drop from 5 days ago fires; outside the window or 14 points does not."""
    big, old, small = (book.account(x) for x in ("a", "b", "c"))
    book.health(big, DAY - timedelta(days=5), 80, "green")
    book.health(big, DAY, 60, "yellow")
    book.health(old, DAY - timedelta(days=10), 90, "green")
    book.health(old, DAY, 60, "yellow")
    book.health(small, DAY - timedelta(days=1), 70, "yellow")
    book.health(small, DAY, 56, "yellow")
    assert fired(engine, "score_drop", {"points": 15, "days": 7}) == {big}
    assert fired(engine, "score_drop", {"points": 10, "days": 7}) == {big, small}


def test_churn_probability_uses_latest_recent_score(engine, book):
    """Latest score ≥ p fires; a stale score or a newer low score does not."""
    high, stale, recovered = (book.account(x) for x in ("a", "b", "c"))

    def score(account: int, days: int, p: float) -> ChurnScore:
        return ChurnScore(
            account_id=account,
            as_of=DAY - timedelta(days=days),
            horizon_days=90,
            model_version="v1",
            probability=p,
            risk_tier="high",
            reasons=[{"feature": "logins", "value": 0, "contribution": 0.3, "text": "logins fell"}],
            scored_at=ago(days),
        )

    book.add(
        score(high, 1, 0.7),
        score(stale, 20, 0.9),
        score(recovered, 3, 0.8),
        score(recovered, 0, 0.2),
    )
    assert fired(engine, "churn_probability", {"min_probability": 0.5}) == {high}


def test_failed_payment_ticket_spike_and_nps(engine, book):
    """Failed invoice in 7 days; tickets far above the usual rate; NPS ≤ 6 in 7 days."""
    a, b, c = (book.account(x) for x in ("a", "b", "c"))
    rows = [
        Invoice(
            account_id=a,
            external_id="i1",
            amount=9900,
            currency="USD",
            status="failed",
            issued_at=ago(3),
            paid_at=None,
        ),
        Invoice(
            account_id=b,
            external_id="i2",
            amount=9900,
            currency="USD",
            status="failed",
            issued_at=ago(12),
            paid_at=None,
        ),
        Invoice(
            account_id=c,
            external_id="i3",
            amount=9900,
            currency="USD",
            status="paid",
            issued_at=ago(1),
            paid_at=ago(1),
        ),
    ]
    for n in range(6):  # a: 6 recent, 2 earlier -> spike; b: 6 recent but 90 usual -> none
        rows.append(
            Ticket(
                account_id=a, external_id=f"ta{n}", opened_at=ago(n), priority="high", status="open"
            )
        )
        rows.append(
            Ticket(
                account_id=b, external_id=f"tb{n}", opened_at=ago(n), priority="low", status="open"
            )
        )
    rows += [
        Ticket(
            account_id=a,
            external_id=f"ta-old{n}",
            opened_at=ago(30 + n),
            priority="low",
            status="closed",
        )
        for n in range(2)
    ]
    rows += [
        Ticket(
            account_id=b,
            external_id=f"tb-old{n}",
            opened_at=ago(8 + n % 89),
            priority="low",
            status="closed",
        )
        for n in range(90)
    ]
    rows += [
        Ticket(account_id=c, external_id=f"tc{n}", opened_at=ago(n), priority="low", status="open")
        for n in range(3)
    ]
    rows += [
        SurveyResponse(account_id=a, external_id="s1", kind="nps", score=9, responded_at=ago(1)),
        SurveyResponse(
            account_id=b,
            external_id="s2",
            kind="nps",
            score=5,
            responded_at=ago(2),
            comment="too slow",
        ),
        SurveyResponse(account_id=c, external_id="s3", kind="nps", score=3, responded_at=ago(20)),
        SurveyResponse(account_id=c, external_id="s4", kind="csat", score=1, responded_at=ago(1)),
    ]
    book.add(*rows)
    assert fired(engine, "failed_payment", {"days": 7}) == {a}
    assert fired(engine, "ticket_spike") == {a}
    assert fired(engine, "nps_detractor") == {b}


def test_renewal_within_days_while_not_green(engine, book):
    """Annual renewal in 46 days and yellow fires; green, far-off or monthly do not."""
    soon = book.account("a", interval="year", started=datetime(2024, 8, 15, tzinfo=UTC))
    green = book.account("b", interval="year", started=datetime(2024, 8, 15, tzinfo=UTC))
    later = book.account("c", interval="year", started=datetime(2024, 12, 1, tzinfo=UTC))
    monthly = book.account("d", interval="month", started=datetime(2024, 8, 15, tzinfo=UTC))
    for account, tier in ((soon, "yellow"), (green, "green"), (later, "red"), (monthly, "red")):
        book.health(account, DAY, 50, tier)
    assert fired(engine, "renewal", {"days": 60}) == {soon}
    assert evaluation.next_anniversary(date(2024, 2, 29), date(2025, 1, 10)) == date(2025, 2, 28)


def test_no_login_and_churned_accounts_are_ignored(engine, book):
    """No login in 14 days fires; a recent login or a churned account does not."""
    quiet, busy, churned = (book.account(x) for x in ("a", "b", "c"))
    with session_scope(engine) as session:
        sub = session.scalar(sa.select(Subscription).where(Subscription.account_id == churned))
        sub.ended_at = ago(40)
    logins = {quiet: ago(20), busy: ago(2), churned: ago(60)}
    assert fired(engine, "no_login", {"days": 14}, last_logins=logins) == {quiet}
    assert fired(engine, "no_login", {"days": 14}, last_logins={}) == set()


def test_last_logins_read_the_event_inbox(engine, book, settings):
    """Login events in the inbox count; later ones and other events do not."""
    a = book.account("a")

    def event(mid: str, name: str, ts: datetime) -> InboxEvent:
        return InboxEvent(
            message_id=mid,
            account_external_id="a",
            account_id=a,
            name=name,
            ts=ts,
            properties={},
            source="api",
            received_at=ts,
        )

    book.add(
        event("m1", "login", ago(9)),
        event("m2", "export_run", ago(1)),
        event("m3", "login", ago(-2)),
    )
    with session_scope(engine) as session:
        assert flows.last_logins(settings, session, DAY) == {a: ago(9)}


def test_stage_opens_alerts_once_and_queues_deliveries(engine, book, settings, frozen_clock):
    """The pipeline stage installs default rules, opens alerts, and a re-run opens nothing.

    The stage itself leaves the task queue alone; the pipeline asks the worker to send.
    """
    red = book.account("a")
    book.health(red, DAY - timedelta(days=1), 70, "yellow")
    book.health(red, DAY, 35, "red")
    context = StageContext(settings=settings, engine=engine, as_of=DAY)
    first = flows.opened_alerts(context)
    assert first["by_rule"] == {"health-red": 1, "health-drop": 1}
    assert not (settings.data_dir / "tasks.db").exists()
    assert dict(run_day(context, [flows.opened_alerts]))["alerts"]["opened"] == 0
    old = StageContext(settings=settings, engine=engine, as_of=DAY - timedelta(days=30))
    assert "skipped" in flows.opened_alerts(old)
    with session_scope(engine) as session:
        assert len(service.list_rules(session)) == 9
        channels = session.scalars(sa.select(AlertDelivery.channel))
        assert sorted(channels) == ["email", "email"]
    assert (settings.data_dir / "tasks.db").exists()  # the worker was asked to send them


@pytest.mark.parametrize(
    "payload, opens",
    [
        ({"from_tier": "yellow", "to_tier": "red", "as_of": "2025-06-30"}, True),
        ({"from": "yellow", "to": "red"}, True),
        ({"from_tier": "red", "to_tier": "red"}, False),
        ({"from_tier": "green", "to_tier": "yellow"}, False),
    ],
)
def test_listener_opens_alerts_on_tier_change(engine, book, settings, frozen_clock, payload, opens):
    """A tier_change published on the bus opens the tier rule's alert, off the caller's thread."""
    account = book.account("a")
    woken: list[int] = []
    listener = flows.install_listener(settings, engine, on_opened=lambda: woken.append(account))
    try:
        get_bus().publish(Notification("tier_change", account, {**payload, "score": 42.0}))
        listener.wait_idle()
    finally:
        listener.stop()
    assert woken == ([account] if opens else [])
    with session_scope(engine) as session:
        alerts = session.scalars(sa.select(Alert)).all()
        assert [(a.rule, a.opened_at) for a in alerts] == (
            [("health-red", frozen_clock.now())] if opens else []
        )


def test_last_logins_read_the_warehouse(engine, book, settings):
    """Login events in the warehouse count, newest before the day's end wins over the inbox."""
    from tenure.warehouse.connection import open_warehouse

    a, b = book.account("a"), book.account("b")
    rows = [
        (f"w{n}", a if n < 3 else b, name, ts)
        for n, (name, ts) in enumerate(
            [
                ("login", ago(20)),
                ("login", ago(5)),
                ("login", ago(-1)),
                ("sign_in", ago(15)),
                ("export_run", ago(1)),
            ]
        )
    ]
    with open_warehouse(settings) as warehouse:
        for message_id, account, name, ts in rows:
            warehouse.con.execute(
                "INSERT INTO events (message_id, account_id, account_external_id, name, ts,"
                " source, received_at) VALUES (?, ?, 'x', ?, ?, 'file', ?)",
                [message_id, account, name, ts, ts],
            )
    with session_scope(engine) as session:
        assert flows.last_logins(settings, session, DAY) == {a: ago(5), b: ago(15)}
