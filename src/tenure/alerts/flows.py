"""Alert flows: the daily pipeline stage, the periodic tick and the real-time listener.

Opening an alert queues its deliveries in the outbox; the task worker sends them. Whoever runs
these flows at the boundary (the pipeline, the server) may ask the worker to send at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.schemas import Money
from tenure.alerts import budget, digest, evaluation, service
from tenure.alerts.models import AlertRule
from tenure.alerts.routing import Routing, routing_from_settings
from tenure.alerts.schemas import Trigger
from tenure.clock import FrozenClock
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.errors import TenureError
from tenure.events.models import InboxEvent
from tenure.logging import get_logger
from tenure.notifications import Notification, get_bus
from tenure.privacy.secrets import with_stored_secrets
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog
from tenure.warehouse.connection import open_warehouse

log = get_logger(__name__)

# Days older than this are backfills: rules are not evaluated for them (no alerts about the past).
LIVE_DAYS = 3
LOGIN_EVENT = "login"


def last_logins(settings: Settings, session: Session, day: date) -> dict[int, datetime]:
    """Return each account's last login up to day, from the warehouse and the event inbox."""
    end = evaluation.day_end(day)
    names = list(getattr(settings, "health_login_events", None) or [LOGIN_EVENT])
    found: dict[int, datetime] = {}
    if settings.warehouse_path.exists():
        with open_warehouse(settings, read_only=True) as warehouse:
            rows = warehouse.con.execute(
                "SELECT account_id, max(ts) FROM events WHERE list_contains(?, name) AND ts < ?"
                " GROUP BY 1",
                [names, end],
            ).fetchall()
        found.update((int(a), ts.astimezone(UTC)) for a, ts in rows)
    inbox = (
        sa.select(InboxEvent.account_id, sa.func.max(InboxEvent.ts))
        .where(InboxEvent.name.in_(names), InboxEvent.ts < end, InboxEvent.account_id.is_not(None))
        .group_by(InboxEvent.account_id)
    )
    for account_id, ts in session.execute(inbox):
        if ts is not None and (account_id not in found or ts > found[account_id]):
            found[account_id] = ts
    return found


@dataclass(frozen=True)
class DayAlerts:
    """Alerts opened per rule for a day, the rules that failed (rule -> why) and the conditions
    each rule skipped as backlog (started before its first evaluation's window)."""

    opened: dict[str, int]
    failed: dict[str, str]
    backlog_skipped: dict[str, int] = field(default_factory=dict)


def evaluate_day(session: Session, settings: Settings, day: date, routing: Routing) -> DayAlerts:
    """Evaluate every enabled rule as of day and open the alerts; a failing rule stops no other.

    A rule's first evaluation opens alerts only for conditions that started within
    `alert_first_run_days`; older ones stay backlog (counted, never alerted) on later days too.
    Each owner is told at once of at most `alerts_daily_budget` accounts a day, most MRR at risk
    first; the other new alerts are opened for the inbox and the digest only.
    """
    service.ensure_default_rules(session)
    rules = [r for r in service.list_rules(session) if r.enabled]
    active = evaluation.active_account_ids(session, day)
    logins = None
    if any(r.kind == "no_login" for r in rules):
        logins = last_logins(settings, session, day)
    outcome = evaluation.evaluate_rules(
        session, rules, day, active=active, last_logins=logins,
        first_run_days=settings.alert_first_run_days,
    )  # fmt: skip
    routed = [(r.route, t) for r in rules for t in outcome.triggers.get(r.name, [])]
    held = budget.held_for_digest(
        session, Money.from_settings(settings), day, routed, routing, settings.alerts_daily_budget
    )
    opened = {
        rule.name: len(
            service.open_alerts(session, rule, outcome.triggers[rule.name], routing, held)
        )
        for rule in rules
        if rule.name in outcome.triggers
    }
    return DayAlerts(opened, outcome.failed, outcome.backlog_skipped)


def tick(session: Session, routing: Routing) -> dict[str, int]:
    """Apply the passage of time: wake snoozed alerts, escalate unacknowledged ones."""
    woke = service.wake_snoozed(session, routing)
    escalated = service.escalate_overdue(session, routing)
    return {"woke": len(woke), "escalated": len(escalated)}


@stage(
    "alerts",
    reads=(
        catalog.ALERT_RULES,
        *catalog.ACCOUNT_RECORDS,
        catalog.CHURN_SCORES,
        catalog.HEALTH_SCORES,
        catalog.WAREHOUSE_EVENTS,
        catalog.EVENT_INBOX,
        catalog.ALERTS,
    ),
    writes=(catalog.ALERTS, catalog.ALERT_HISTORY, catalog.ALERT_DELIVERIES, catalog.ALERT_RULES),
    reads_earlier_runs=(catalog.CSM_TASKS,),  # overdue_task: the plays stage runs after this one
)
def opened_alerts(context: StageContext) -> StageSummary:
    """Open the day's alerts, apply the passage of time and queue their deliveries."""
    settings, day = context.settings, context.as_of
    routing = routing_from_settings(with_stored_secrets(context.engine, settings))
    if day < clock.now().date() - timedelta(days=LIVE_DAYS):
        return {"skipped": f"{day} is a backfill day; alerts are raised only for live days"}
    with session_scope(context.engine) as session:
        day_alerts = evaluate_day(session, settings, day, routing)
        changes = tick(session, routing)
    return {
        "opened": sum(day_alerts.opened.values()),
        **changes,
        "by_rule": {name: n for name, n in day_alerts.opened.items() if n},
        "backlog_skipped": sum(day_alerts.backlog_skipped.values()),
        **({"failed_rules": day_alerts.failed} if day_alerts.failed else {}),
    }


# --- real time: tier changes and score drops published by the health service ----------------


def _score_drop_for(session: Session, rule: AlertRule, account_id: int, day: date) -> list[Trigger]:
    triggers = evaluation.score_drop(session, day, evaluation.stored_params(rule), None)
    return [t for t in triggers if t.account_id == account_id]


def _note_day(note: Notification) -> date:
    """Return the day a health notification is about (its as_of, else when it was sent)."""
    try:
        return date.fromisoformat(str(note.payload["as_of"]))
    except (KeyError, ValueError):
        return note.at.date()


def triggers_for_note(session: Session, rule: AlertRule, note: Notification) -> list[Trigger]:
    """Return the trigger (if any) a tier_change or score_drop notification fires for rule."""
    if note.account_id is None or not rule.enabled:
        return []
    payload = note.payload
    if rule.kind == "tier_change" and note.kind == "tier_change":
        old = payload.get("from_tier", payload.get("from"))
        new = payload.get("to_tier", payload.get("to"))
        if new != evaluation.stored_params(rule)["to"] or old == new:
            return []
        score = payload.get("score")
        text = f"health tier changed from {old} to {new}" + (
            f" (score {score:.0f})" if isinstance(score, int | float) else ""
        )
        return [Trigger(note.account_id, text, {"from": old, "to": new, "score": score})]
    if rule.kind == "score_drop" and note.kind in ("score_drop", "tier_change"):
        return _score_drop_for(session, rule, note.account_id, _note_day(note))
    return []


def handle_notification(session: Session, note: Notification, routing: Routing) -> int:
    """Open the alerts a health notification calls for; return how many were opened."""
    if note.kind not in ("tier_change", "score_drop"):
        return 0
    service.ensure_default_rules(session)
    opened = 0
    for rule in service.list_rules(session):
        try:
            triggers = triggers_for_note(session, rule, note)
        except evaluation.RULE_ERRORS as exc:
            evaluation.record_failure(rule.name, exc)
            continue
        opened += len(service.open_alerts(session, rule, triggers, routing))
    return opened


class AlertListener:
    """Evaluate rules for health notifications off the publisher's thread, one at a time.

    `on_opened` is called after a notification opened alerts (the server asks the task worker
    to send them at once; without it the worker's minute tick sends them).
    """

    def __init__(
        self, settings: Settings, engine: Engine, on_opened: Callable[[], object] | None = None
    ) -> None:
        self.settings, self.engine, self.on_opened = settings, engine, on_opened
        self.routing = routing_from_settings(with_stored_secrets(engine, settings))
        self._queue: queue.Queue[Notification | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._remove: Any = None
        self.opened = 0

    def start(self) -> AlertListener:
        """Subscribe to the bus and start the evaluating thread."""
        self._thread = threading.Thread(target=self._run, name="tenure-alerts", daemon=True)
        self._thread.start()
        self._remove = get_bus().add_listener(self._offer)
        return self

    def _offer(self, note: Notification) -> None:
        if note.kind in ("tier_change", "score_drop"):
            self._queue.put(note)

    def _run(self) -> None:
        while (note := self._queue.get()) is not None:
            try:
                with clock.use_clock(FrozenClock(note.at)), session_scope(self.engine) as session:
                    opened = handle_notification(session, note, self.routing)
                self.opened += opened
                if opened and self.on_opened is not None:
                    self.on_opened()
            except (SQLAlchemyError, TenureError) as exc:
                log.error("alert evaluation failed", account=note.account_id, error=str(exc))
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def wait_idle(self) -> None:
        """Block until every notification received so far has been handled."""
        self._queue.join()

    def stop(self) -> None:
        """Unsubscribe and stop the thread after the queued notifications."""
        if self._remove is not None:
            self._remove()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)


def install_listener(
    settings: Settings, engine: Engine, *, on_opened: Callable[[], object] | None = None
) -> AlertListener:
    """Start evaluating alert rules on health notifications in this process; return it."""
    return AlertListener(settings, engine, on_opened).start()


__all__ = ["AlertListener", "digest", "evaluate_day", "install_listener", "opened_alerts"]
