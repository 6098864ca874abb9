"""A rule's first evaluation alerts only on recent conditions; the older ones stay backlog."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from tenure.accounts.models import Invoice, SurveyResponse
from tenure.alerts import flows, service
from tenure.alerts.models import Alert, AlertRule
from tenure.alerts.routing import Routing
from tenure.db.session import session_scope
from tenure.events.models import InboxEvent
from tenure.stage import StageContext

DAY = date(2025, 6, 30)
RULES = (
    {"name": "quiet", "kind": "no_login", "params": {"days": 14}},
    {"name": "payments", "kind": "failed_payment", "params": {"days": 30}},
    {"name": "detractors", "kind": "nps_detractor", "params": {"days": 30}},
)


def ago(days: int, hour: int = 12) -> datetime:
    """Return an instant `days` days before the frozen day."""
    day = DAY - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _login(account_id: int, external_id: str, ts: datetime) -> InboxEvent:
    return InboxEvent(
        message_id=f"login-{external_id}", account_external_id=external_id, account_id=account_id,
        name="login", ts=ts, properties={}, source="api", received_at=ts,
    )  # fmt: skip


def _failed(account_id: int, issued: datetime) -> Invoice:
    return Invoice(
        account_id=account_id, external_id=f"inv-{account_id}", amount=9900, currency="USD",
        status="failed", issued_at=issued, paid_at=None,
    )  # fmt: skip


def _nps(account_id: int, at: datetime) -> SurveyResponse:
    return SurveyResponse(
        account_id=account_id, external_id=f"nps-{account_id}", kind="nps", score=3, comment=None,
        responded_at=at,
    )  # fmt: skip


def _book(book) -> dict[str, int]:
    """Write accounts whose conditions started 3, 6, 8 days and long ago (with 7-day window)."""
    ids = {name: book.account(name) for name in ("recent", "edge", "old", "never", "busy")}
    book.add(
        _login(ids["recent"], "recent", ago(17)),  # quiet since 3 days ago (14 + 3)
        _login(ids["edge"], "edge", ago(20)),  # quiet since 6 days ago: inside the 7 days
        _login(ids["old"], "old", ago(22)),  # quiet since 8 days ago: backlog
        _login(ids["busy"], "busy", ago(2)),  # "never" has no login at all since 2024: backlog
        _failed(ids["recent"], ago(3)),
        _failed(ids["old"], ago(20)),
        _nps(ids["recent"], ago(2)),
        _nps(ids["old"], ago(25)),
    )
    with session_scope(book.engine) as session:
        for spec in RULES:
            service.save_rule(session, spec)
    return ids


def _opened(engine, rule: str) -> set[int]:
    with session_scope(engine) as session:
        return set(session.scalars(sa.select(Alert.account_id).where(Alert.rule == rule)))


def test_first_evaluation_opens_recent_conditions_and_counts_the_backlog(
    engine, book, settings, frozen_clock
):
    ids = _book(book)
    summary = flows.opened_alerts(StageContext(settings=settings, engine=engine, as_of=DAY))
    assert summary["by_rule"] == {"quiet": 2, "payments": 1, "detractors": 1}
    assert summary["backlog_skipped"] == 4  # old and never (quiet), old (payments, detractors)
    assert _opened(engine, "quiet") == {ids["recent"], ids["edge"]}
    assert _opened(engine, "payments") == _opened(engine, "detractors") == {ids["recent"]}
    with session_scope(engine) as session:
        stored = {r.name: r.backlog_before for r in session.scalars(sa.select(AlertRule))}
    assert set(stored.values()) == {datetime(2025, 6, 24, tzinfo=UTC)}  # end of DAY − 7 days


def test_a_longer_first_run_window_opens_older_conditions(engine, book, settings):
    ids = _book(book)
    settings = settings.model_copy(update={"alert_first_run_days": 30})
    with session_scope(engine) as session:
        day = flows.evaluate_day(session, settings, DAY, Routing())
    assert day.opened == {"quiet": 3, "payments": 2, "detractors": 2}
    assert day.backlog_skipped == {"quiet": 1}  # no login since 2024: still backlog
    assert ids["never"] not in _opened(engine, "quiet")


def test_later_evaluations_alert_new_conditions_as_before_and_keep_the_backlog_quiet(
    engine, book, settings, frozen_clock
):
    ids = _book(book)
    with session_scope(engine) as session:
        flows.evaluate_day(session, settings, DAY, Routing())
    late = book.account("late")
    book.add(_login(late, "late", ago(18)))  # quiet since 4 days before DAY
    later = DAY + timedelta(days=5)  # 9 days after it started: outside a sliding 7-day window
    with session_scope(engine) as session:
        day = flows.evaluate_day(session, settings, later, Routing())
    assert day.opened == {"quiet": 1, "payments": 0, "detractors": 0}
    assert _opened(engine, "quiet") == {ids["recent"], ids["edge"], late}
    # The old detractor answer has left the 30-day window by now; the others are still backlog.
    assert day.backlog_skipped == {"quiet": 2, "payments": 1}


def test_changing_a_rules_condition_gives_it_a_new_first_run(engine, book, settings):
    _book(book)
    with session_scope(engine) as session:
        flows.evaluate_day(session, settings, DAY, Routing())
        service.save_rule(session, RULES[1])  # the same condition: the backlog line stays
        service.save_rule(session, {**RULES[0], "params": {"days": 7}})
        rules = {r.name: r.backlog_before for r in service.list_rules(session)}
    assert rules["payments"] is not None and rules["quiet"] is None
