"""Report schedules: set and list them, find the period due, send the PDF through the outbox.

A weekly schedule is due from its weekday and hour (UTC) each ISO week; a monthly one from its
day and hour each month, covering the month before. A period is sent once: the schedule keeps
the last period sent, and each recipient's outbox row has the idempotency key
report-NAME-PERIOD-ADDRESS, so a repeated run (two workers, a retry) queues nothing new. A
period missed while nothing ran is sent at the next run (only the latest one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.config import Settings
from tenure.errors import InputError, NotFound
from tenure.reports.scheduled.content import REPORTS, report_content
from tenure.reports.scheduled.models import ReportSchedule
from tenure.reports.scheduled.render import render_html, render_pdf

CADENCES = ("weekly", "monthly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class Rendered:
    """One report rendered for a period: its HTML, PDF bytes and the figures behind it."""

    name: str
    html: str
    pdf: bytes
    content: dict[str, Any]


def due_moment(schedule: ReportSchedule, now: datetime) -> datetime:
    """Return the latest send moment at or before NOW."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if schedule.cadence == "weekly":
        week = midnight - timedelta(days=now.weekday())
        moment = week + timedelta(days=schedule.weekday, hours=schedule.hour)
        return moment if moment <= now else moment - timedelta(days=7)
    moment = midnight.replace(day=schedule.day, hour=schedule.hour)
    if moment > now:
        previous = midnight.replace(day=1) - timedelta(days=1)
        moment = previous.replace(day=schedule.day, hour=schedule.hour)
    return moment


def period_of(schedule: ReportSchedule, moment: datetime) -> str:
    """Return the period a send moment covers: its ISO week, or the month before it."""
    if schedule.cadence == "weekly":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    before = moment.replace(day=1) - timedelta(days=1)
    return f"{before:%Y-%m}"


def due_period(schedule: ReportSchedule, now: datetime) -> str | None:
    """Return the period to send now, or None (disabled, no recipients, or already sent)."""
    if not schedule.enabled or not schedule.recipients:
        return None
    period = period_of(schedule, due_moment(schedule, now))
    return None if period == schedule.last_period else period


def _check(name: str, cadence: str, recipients: list[str], day: int, hour: int) -> None:
    """Raise InputError naming the first bad value of a schedule."""
    if name not in REPORTS:
        raise InputError(f"report must be one of {', '.join(REPORTS)}, got {name!r}")
    if cadence not in CADENCES:
        raise InputError(f"cadence must be weekly or monthly, got {cadence!r}")
    bad = [r for r in recipients if not EMAIL.match(r)]
    if bad:
        raise InputError(f"recipient {bad[0]!r} is not an email address")
    if not 1 <= day <= 28:
        raise InputError(f"day must be 1–28 (every month has it), got {day}")
    if not 0 <= hour <= 23:
        raise InputError(f"hour must be 0–23 (UTC), got {hour}")


def set_schedule(
    session: Session,
    name: str,
    *,
    recipients: list[str] | None = None,
    cadence: str | None = None,
    weekday: str | None = None,
    day: int | None = None,
    hour: int | None = None,
    enabled: bool | None = None,
) -> ReportSchedule:
    """Create or change a report's schedule (unset values keep theirs or the defaults)."""
    row = session.get(ReportSchedule, name)
    if row is None:
        spec = REPORTS.get(name)
        row = ReportSchedule(name=name, cadence=spec.cadence if spec else "weekly", weekday=0,
                             day=1, hour=7, recipients=[], enabled=True)  # fmt: skip
    if weekday is not None and weekday.lower()[:3] not in WEEKDAYS:
        raise InputError(f"weekday must be one of {', '.join(WEEKDAYS)}, got {weekday!r}")
    row.recipients = sorted(set(recipients)) if recipients is not None else row.recipients
    row.cadence = cadence or row.cadence
    row.weekday = WEEKDAYS.index(weekday.lower()[:3]) if weekday else row.weekday
    row.day, row.hour = day or row.day, row.hour if hour is None else hour
    row.enabled = row.enabled if enabled is None else enabled
    _check(name, row.cadence, row.recipients, row.day, row.hour)
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    return row


def list_schedules(session: Session) -> list[ReportSchedule]:
    """Return every report schedule by name."""
    return list(session.scalars(sa.select(ReportSchedule).order_by(ReportSchedule.name)))


def render_report(session: Session, settings: Settings, name: str, today: date) -> Rendered:
    """Return a report rendered as of TODAY (HTML and PDF)."""
    if name not in REPORTS:
        raise NotFound(f"no report {name!r}; the reports are {', '.join(REPORTS)}")
    content = report_content(db_session=session, settings=settings, spec=REPORTS[name], today=today)
    html = render_html(content)
    return Rendered(name, html, render_pdf(html), content)
