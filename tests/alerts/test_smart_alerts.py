"""Smart alerts: overdue CSM tasks raise an alert for the task's owner; each CSM's daily budget
sends the accounts with the most MRR at risk at once and holds the rest for the digest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from tenure.accounts.models import Invoice
from tenure.alerts import budget, digest, evaluation, flows, service
from tenure.alerts.models import Alert, AlertDelivery, AlertRule
from tenure.alerts.routing import Routing
from tenure.alerts.rules import validate_rule
from tenure.churn.models import ChurnScore
from tenure.db.session import session_scope
from tenure.plays.models import CsmTask

DAY = date(2025, 6, 30)
NOON = datetime(2025, 6, 30, 12, tzinfo=UTC)


def _task(account_id: int, due: date, **fields) -> CsmTask:
    values = {"owner": "tasker@example.com", "title": "Call", "checklist": [], "status": "open",
              "created_at": NOON - timedelta(days=20)} | fields  # fmt: skip
    return CsmTask(account_id=account_id, due_on=due, **values)


def _rule(kind: str, name: str, params: dict | None = None) -> AlertRule:
    spec = validate_rule({"name": name, "kind": kind, "params": params or {}})
    return AlertRule(name=name, kind=kind, params=spec["params"])


def test_overdue_tasks_are_judged_as_of_the_day(engine, book):
    late, done_before, done_after, snoozed, due_today = (
        book.account(x) for x in ("late", "done-before", "done-after", "snoozed", "today")
    )
    book.add(
        _task(late, DAY - timedelta(days=3)),
        _task(late, DAY - timedelta(days=1), title="Second"),
        _task(done_before, DAY - timedelta(days=3), status="done",
              completed_at=NOON - timedelta(days=1)),
        _task(done_after, DAY - timedelta(days=3), status="done",
              completed_at=NOON + timedelta(days=2)),  # still open as of DAY
        _task(snoozed, DAY - timedelta(days=3), status="snoozed",
              snoozed_until=DAY + timedelta(days=2)),
        _task(due_today, DAY),
    )  # fmt: skip
    with session_scope(engine) as session:
        active = evaluation.active_account_ids(session, DAY)
        triggers = evaluation.evaluate_rule(
            session, _rule("overdue_task", "late"), DAY, active=active
        )
    found = {t.account_id: t for t in triggers}
    assert set(found) == {late, done_after}
    assert found[late].facts["days_overdue"] == 3 and len(found[late].facts["tasks"]) == 2
    assert "3 days overdue" in found[late].text and "and 1 more" in found[late].text


def test_an_overdue_task_alert_goes_to_the_tasks_owner(any_engine, any_book, frozen_clock):
    engine, book = any_engine, any_book
    account = book.account("late", owner="csm@example.com")
    book.add(_task(account, DAY - timedelta(days=2)))
    routing = Routing()
    with session_scope(engine) as session:
        rule = service.save_rule(session, {"name": "task-overdue", "kind": "overdue_task"})
        triggers = evaluation.evaluate_rule(
            session, rule, DAY, active=evaluation.active_account_ids(session, DAY)
        )
        opened = service.open_alerts(session, rule, triggers, routing)
        assert [a.owner for a in opened] == ["tasker@example.com"]
        targets = session.scalars(sa.select(AlertDelivery.target))
        assert list(targets) == ["tasker@example.com"]


def test_split_budget_counts_accounts_once_and_spares_those_already_told():
    ranked = [("a", 1), ("a", 2), ("b", 3), ("a", 1), ("a", 4), ("a", 5), ("b", 6)]
    held = budget.split_budget(ranked, {"a": {9}}, 2)
    # a: 9 was told earlier today, so one slot is left (1); b has two slots (3, 6).
    assert held == {("a", 2), ("a", 4), ("a", 5)}
    assert budget.split_budget(ranked, {}, 0) == {(o, a) for o, a in ranked}


def test_the_daily_budget_sends_the_most_mrr_at_risk_and_holds_the_rest(
    any_engine, any_book, any_settings, frozen_clock
):
    """On SQLite and PostgreSQL: the two accounts most at risk are told of, two wait."""
    engine, book = any_engine, any_book
    settings = any_settings.model_copy(update={"alerts_daily_budget": 2})
    probabilities = {"p10": 0.1, "p90": 0.9, "p50": 0.5, "none": None}
    ids = {key: book.account(key) for key in probabilities}  # same owner, same MRR
    for key, account_id in ids.items():
        book.add(
            Invoice(
                account_id=account_id,
                external_id=f"inv-{key}",
                amount=100,
                currency="USD",
                status="failed",
                issued_at=NOON - timedelta(hours=2),
            )
        )
        if probabilities[key] is not None:
            book.add(ChurnScore(account_id=account_id, as_of=DAY, horizon_days=90,
                                model_version="m", probability=probabilities[key],
                                risk_tier="high", reasons=[], scored_at=NOON))  # fmt: skip
    routing = Routing()
    with session_scope(engine) as session:
        service.save_rule(session, {"name": "failed", "kind": "failed_payment"})
        opened = flows.evaluate_day(session, settings, DAY, routing).opened
        assert opened == {"failed": 4}  # every alert is opened: the rows are kept
        alerts = {a.account_id: a for a in session.scalars(sa.select(Alert))}
        told = {a for a, alert in alerts.items() if not alert.facts.get("digest")}
        assert told == {ids["p90"], ids["p50"]}
        delivered = session.scalars(sa.select(AlertDelivery.alert_id))
        assert {alerts[a].id for a in told} == set(delivered)
        _, body = digest.render_digest(
            "csm@example.com", DAY, [(alerts[ids["p10"]], "p10")], routing
        )
        assert "over your daily alert budget" in body
        assert budget.told_today(session, DAY) == {"csm@example.com": told}


def test_the_grouped_inbox_ranks_accounts_by_mrr_at_risk(
    any_engine, any_book, any_settings, frozen_clock
):
    """On SQLite and PostgreSQL: groups by MRR × probability, ranks within owner, budget marks."""
    from tenure.alerts.smart import group_page

    engine, book = any_engine, any_book
    settings = any_settings.model_copy(update={"alerts_daily_budget": 1})
    risk = {"a": 0.2, "b": 0.9, "c": None}
    ids = {key: book.account(key, owner="one@example.com") for key in risk}
    with session_scope(engine) as session:
        for key, account_id in ids.items():
            for rule, severity in (("r1", "low"), ("r2", "critical")):
                session.add(Alert(account_id=account_id, rule=rule, kind="score_drop",
                                  severity=severity, owner="one@example.com", status="open",
                                  message=f"{key}: {rule}", facts={}, open_key=f"{account_id}:{rule}",
                                  opened_at=NOON, updated_at=NOON))  # fmt: skip
            if risk[key] is not None:
                session.add(ChurnScore(account_id=account_id, as_of=DAY - timedelta(days=3),
                                       horizon_days=90, model_version="m", probability=risk[key],
                                       risk_tier="high", reasons=[], scored_at=NOON))  # fmt: skip
    with session_scope(engine) as session:
        page = group_page(db_session=session, settings=settings, day=DAY, status="active",
                          owner=None)  # fmt: skip
        order = [g.account_id for g in page.groups]
        assert order == [ids["b"], ids["a"], ids["c"]] and page.total == 3
        assert [g.mrr_at_risk for g in page.groups] == [50_000 * 0.9, 50_000 * 0.2, 0.0]
        assert [g.in_budget for g in page.groups] == [True, False, False]
        assert all(g.severity == "critical" and len(g.alerts) == 2 for g in page.groups)
