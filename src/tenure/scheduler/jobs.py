"""The scheduler's jobs: the daily pipeline, the alert digests, the scheduled reports."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from tenure import clock
from tenure.alerts.delivery import deliver_due
from tenure.alerts.digest import queue_digests
from tenure.alerts.routing import routing_from_settings
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.pipeline import run_day, select_stages
from tenure.scheduler.lease import PIPELINE
from tenure.scheduler.runner import ScheduledJob
from tenure.stage import StageContext


def pipeline_job(settings: Settings, engine: sa.Engine) -> ScheduledJob:
    """Return the daily pipeline as a job: every stage for the day, every missed day in turn."""

    def run(day: date) -> dict[str, Any]:
        context = StageContext(settings=settings, engine=engine, as_of=day)
        stages = [key for key, _ in run_day(context, select_stages())]
        return {"stages": len(stages)}

    return ScheduledJob(PIPELINE, settings.pipeline_hour, run, catch_up=True)


def digest_job(settings: Settings, engine: sa.Engine) -> ScheduledJob:
    """Return the owners' alert digests as a job: only the latest day (a stale digest is noise)."""

    def run(day: date) -> dict[str, Any]:
        with session_scope(engine) as session:
            queued = queue_digests(session, day, routing_from_settings(settings))
        return {"digests": queued, **deliver_due(engine, settings).as_dict()}

    return ScheduledJob("alerts_digest", settings.alert_digest_hour, run, catch_up=False)


def reports_job(settings: Settings, engine: sa.Engine) -> ScheduledJob:
    """Return the scheduled reports as a job run at every poll: each sends its due period once."""

    def run(_: date) -> dict[str, Any]:
        from tenure.reports.scheduled.sending import run_due  # WeasyPrint: only when it runs

        with session_scope(engine) as session:
            sent = run_due(session, settings, clock.now())
        queued = sum(item["queued"] for item in sent)
        return {"reports": len(sent), "queued": queued, **deliver_due(engine, settings).as_dict()}

    return ScheduledJob("reports", 0, run, catch_up=False, every_poll=True)


def default_jobs(settings: Settings, engine: sa.Engine) -> list[ScheduledJob]:
    """Return the scheduler's jobs in the order they run."""
    return [
        pipeline_job(settings, engine),
        digest_job(settings, engine),
        reports_job(settings, engine),
    ]
