"""`tenure scheduler`'s loop: run each daily job once per day at its hour, catching up after downtime.

A small loop, not Huey periodic tasks: a crontab fires only while a consumer happens to be up
at that minute (a missed day is never run), and every consumer started with periodic tasks
fires them (two workers, two pipelines). Here each job records the last day it completed in
the app DB and runs every day since, under a lease that only one process can hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.db.session import session_scope
from tenure.errors import LockHeld
from tenure.logging import get_logger
from tenure.scheduler.lease import holding
from tenure.scheduler.models import JobProgress

log = get_logger(__name__)


@dataclass(frozen=True)
class ScheduledJob:
    """A daily job: its name (also its lease), the UTC hour it is due, what one day runs."""

    name: str
    hour: int
    run: Callable[[date], dict[str, Any]]
    catch_up: bool = True  # run every missed day (the pipeline) or only the latest (digests)
    every_poll: bool = False  # run at each poll (work that knows itself what is due: reports)


def latest_due_day(now: datetime, hour: int) -> date:
    """Return the last day whose run is due at now: today once the hour has come, else yesterday."""
    today = now.date()
    return today if now.hour >= hour else today - timedelta(days=1)


def due_days(last_completed: date | None, latest: date, *, catch_up: bool) -> list[date]:
    """Return the days to run, oldest first; a job never run starts with the latest day."""
    if last_completed is None:
        return [latest]
    days = [
        last_completed + timedelta(days=n) for n in range(1, (latest - last_completed).days + 1)
    ]
    return days if catch_up else days[-1:]


def last_completed(session: Session, name: str) -> date | None:
    """Return the last day a job completed (None if never)."""
    progress = session.get(JobProgress, name)
    return progress.last_completed if progress else None


def record_completed(session: Session, name: str, day: date) -> None:
    """Record that a job completed a day."""
    progress = session.get(JobProgress, name)
    if progress is None:
        session.add(JobProgress(name=name, last_completed=day, updated_at=clock.now()))
    else:
        progress.last_completed, progress.updated_at = day, clock.now()


def run_job(engine: sa.Engine, job: ScheduledJob, lease_seconds: float) -> list[date]:
    """Run a job's due days under its lease, recording each; return the days run.

    Raises LockHeld when another process holds the job's lease.
    """
    ran: list[date] = []
    with holding(engine, job.name, lease_seconds):
        if job.every_poll:
            summary = job.run(clock.now().date())
            log.info("scheduled job ran", job=job.name, summary=summary)
            return [clock.now().date()]
        with session_scope(engine) as session:
            done = last_completed(session, job.name)
        for day in due_days(done, latest_due_day(clock.now(), job.hour), catch_up=job.catch_up):
            summary = job.run(day)
            with session_scope(engine) as session:
                record_completed(session, job.name, day)
            log.info("scheduled job completed a day", job=job.name, as_of=str(day), summary=summary)
            ran.append(day)
    return ran


def run_due(
    engine: sa.Engine, jobs: list[ScheduledJob], lease_seconds: float
) -> dict[str, list[date]]:
    """Run every job's due days; a job whose lease another process holds is left to it."""
    report: dict[str, list[date]] = {}
    for job in jobs:
        try:
            report[job.name] = run_job(engine, job, lease_seconds)
        except LockHeld as exc:
            log.info("scheduled job left to its lease holder", job=job.name, reason=str(exc))
            report[job.name] = []
    return report


def run_forever(
    engine: sa.Engine,
    jobs: list[ScheduledJob],
    *,
    lease_seconds: float,
    poll_seconds: float,
    stop: threading.Event,
) -> None:
    """Run what is due, then wait poll_seconds, until stop is set; a failing day is retried."""
    while not stop.is_set():
        try:
            run_due(engine, jobs, lease_seconds)
        except Exception as exc:  # the scheduler outlives a failed day
            log.error("scheduled job failed; retrying at the next poll", error=str(exc))
        stop.wait(poll_seconds)
