"""The task queue (Huey): SqliteHuey in the data dir by default, RedisHuey when redis_url is set.

Nothing is built at import time: `build_huey(settings)` makes the instance and
`register_tasks(huey, settings)` attaches Tenure's tasks to it, in the worker and in every
process that enqueues (task names are module-qualified, so both sides agree).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from redis.exceptions import RedisError
from sqlalchemy import Engine

from tenure import clock
from tenure.alerts import outbox
from tenure.alerts.delivery import deliver_due
from tenure.alerts.digest import queue_digests
from tenure.alerts.flows import tick
from tenure.alerts.routing import routing_from_settings
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.errors import TenureError
from tenure.logging import get_logger
from tenure.messaging.journeys_engine import tick as journeys_tick_once

log = get_logger(__name__)

QUEUE_NAME = "tenure"
TASKS_FILE = "tasks.db"


def build_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    """Return a Huey instance: Redis when settings.redis_url is set, else SQLite in the data dir."""
    if settings.redis_url:
        return RedisHuey(QUEUE_NAME, url=settings.redis_url, results=False, immediate=immediate)
    settings.ensure_data_dir()
    path = settings.data_dir / TASKS_FILE
    return SqliteHuey(QUEUE_NAME, filename=str(path), results=False, immediate=immediate)


@dataclass
class Tasks:
    """Tenure's tasks bound to one Huey instance; calling one enqueues it."""

    huey: Huey
    deliver_alerts: Any
    alerts_tick: Any
    alerts_digest: Any
    journeys_tick: Any
    reports_due: Any


def register_tasks(huey: Huey, settings: Settings, engine: Engine | None = None) -> Tasks:
    """Attach Tenure's tasks to huey; the engine is created on first use when not given."""
    engines: list[Engine] = [engine] if engine is not None else []

    def app_engine() -> Engine:
        if not engines:
            engines.append(get_engine(settings))
        return engines[0]

    @huey.task(name="deliver_alerts")
    def deliver_alerts() -> dict[str, int]:
        """Send every due outbox row (alerts and messages); come back when the next is due."""
        report = deliver_due(app_engine(), settings)
        with session_scope(app_engine()) as session:
            due = outbox.next_due_at(session, settings.alert_delivery_lease_seconds)
        if due is not None and due - clock.now() < timedelta(minutes=1):
            deliver_alerts.schedule(delay=max(0.0, (due - clock.now()).total_seconds()))
        return report.as_dict()

    @huey.periodic_task(crontab(minute="*"), name="alerts_tick")
    def alerts_tick() -> dict[str, int]:
        """Every minute: wake snoozed alerts, escalate overdue ones, send what is due."""
        with session_scope(app_engine()) as session:
            changes = tick(session, routing_from_settings(settings))
        return {**changes, **deliver_due(app_engine(), settings).as_dict()}

    @huey.periodic_task(
        crontab(minute="0", hour=str(settings.alert_digest_hour)), name="alerts_digest"
    )
    def alerts_digest() -> dict[str, int]:
        """Once a day: queue each owner's digest and send it."""
        with session_scope(app_engine()) as session:
            queued = queue_digests(session, clock.now().date(), routing_from_settings(settings))
        return {"digests": queued, **deliver_due(app_engine(), settings).as_dict()}

    @huey.periodic_task(crontab(minute="*/5"), name="journeys_tick_periodic")
    def journeys_periodic() -> dict[str, int]:
        """Every five minutes: advance every journey once, then send what it queued."""
        return journeys_tick.call_local()

    @huey.task(name="journeys_tick")
    def journeys_tick() -> dict[str, int]:
        """Advance every journey once (enrol, goals, due steps) and send what it queued."""
        report = journeys_tick_once(app_engine(), settings)
        return {**report, **deliver_due(app_engine(), settings).as_dict()}

    @huey.periodic_task(crontab(minute="5"), name="reports_due")
    def reports_due() -> dict[str, int]:
        """Every hour: render and queue the scheduled reports that are due, then send them."""
        from tenure.reports.scheduled.sending import run_due

        with session_scope(app_engine()) as session:
            sent = run_due(session, settings, clock.now())
        queued = sum(item["queued"] for item in sent)
        return {
            "reports": len(sent),
            "queued": queued,
            **deliver_due(app_engine(), settings).as_dict(),
        }

    return Tasks(huey, deliver_alerts, alerts_tick, alerts_digest, journeys_tick, reports_due)


def kick_journeys(settings: Settings) -> bool:
    """Ask the task worker to advance the journeys now (events arrived); False if unreachable."""
    try:
        register_tasks(build_huey(settings), settings).journeys_tick()
    except (OSError, sqlite3.Error, RedisError, TenureError) as exc:  # the periodic tick runs
        log.warning("could not enqueue a journeys tick", error=str(exc))
        return False
    return True


def kick_delivery(settings: Settings) -> bool:
    """Ask the task worker to send the queued alert deliveries now; False if unreachable."""
    try:
        register_tasks(build_huey(settings), settings).deliver_alerts()
    except (OSError, sqlite3.Error, RedisError, TenureError) as exc:  # the minute tick sends
        log.warning("could not enqueue alert delivery", error=str(exc))
        return False
    return True
