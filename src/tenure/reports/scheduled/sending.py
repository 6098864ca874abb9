"""Send the scheduled reports that are due: render once, one outbox email per recipient."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.alerts.models import AlertDelivery
from tenure.alerts.outbox import add_delivery
from tenure.config import Settings
from tenure.reports.scheduled.models import ReportSchedule
from tenure.reports.scheduled.schedule import (
    Rendered,
    due_moment,
    due_period,
    list_schedules,
    period_of,
    render_report,
)


def report_key(name: str, period: str, recipient: str) -> str:
    """Return the outbox idempotency key of one recipient's copy of a period's report."""
    return f"report-{name}-{period}-{recipient}"[:128]


def email_text(rendered: Rendered, period: str) -> tuple[str, str]:
    """Return the subject and plain-text body that go with the attached PDF."""
    spec, kpis = rendered.content["spec"], rendered.content["kpis"]
    subject = f"[Tenure] {spec.title} · {period}"
    lines = [f"{spec.title} for {period} (as of {rendered.content['today']}), attached as PDF.", ""]
    if kpis:
        currency = rendered.content["currency"]
        lines.append(
            f"MRR at the end of {kpis['month']}: {kpis['mrr_end']['value']:,.0f} {currency}"
        )
        for key, label in (("nrr", "NRR"), ("grr", "GRR"), ("logo_churn_rate", "Logo churn")):
            value = kpis[key]["value"]
            lines.append(f"{label}: {'—' if value is None else f'{value:.1%}'}")
    return subject, "\n".join(lines) + "\n"


def queue_report(session: Session, rendered: Rendered, recipients: list[str], period: str) -> int:
    """Queue the report to each recipient not sent it yet for PERIOD; return how many queued."""
    keys = {r: report_key(rendered.name, period, r) for r in recipients}
    query = sa.select(AlertDelivery.idempotency_key).where(
        AlertDelivery.idempotency_key.in_(keys.values())
    )
    done = set(session.scalars(query))
    subject, body = email_text(rendered, period)
    attachment = {
        "filename": f"tenure-{rendered.name}-{period}.pdf",
        "content_type": "application/pdf",
        "data": base64.b64encode(rendered.pdf).decode("ascii"),
    }
    payload = {"type": "report", "report": rendered.name, "period": period}
    queued = 0
    for recipient, key in keys.items():
        if key in done:
            continue
        add_delivery(session, "email", recipient, key, subject, body,
                     payload | {"attachments": [attachment]}, None, "report")  # fmt: skip
        queued += 1
    return queued


def send_schedule(
    session: Session, settings: Settings, schedule: ReportSchedule, period: str, now: datetime
) -> dict[str, Any]:
    """Render the schedule's report, queue it to every recipient, mark the period sent."""
    rendered = render_report(session, settings, schedule.name, now.date())
    queued = queue_report(session, rendered, list(schedule.recipients), period)
    schedule.last_period, schedule.last_sent_at = period, now
    session.flush()
    return {
        "report": schedule.name,
        "period": period,
        "queued": queued,
        "pdf_bytes": len(rendered.pdf),
    }


def run_due(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    only: str | None = None,
    force: bool = False,
) -> list[dict[str, Any]]:
    """Send every due report (or ONLY one; FORCE sends the current period even if sent)."""
    sent = []
    for schedule in list_schedules(session):
        if only is not None and schedule.name != only:
            continue
        period = due_period(schedule, now)
        if force and schedule.recipients:
            period = period_of(schedule, due_moment(schedule, now))
        if period is not None:
            sent.append(send_schedule(session, settings, schedule, period, now))
    return sent
