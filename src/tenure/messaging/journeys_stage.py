"""The pipeline's `journeys` stage: one journey tick after the day's scores, segments and alerts."""

from __future__ import annotations

from datetime import timedelta

from tenure import clock
from tenure.messaging.journeys_engine import tick
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog

LIVE_DAYS = 3  # as alerts: older days are backfills, no journey is advanced for them


@stage(
    "journeys",
    reads=(
        catalog.JOURNEYS, catalog.MESSAGE_TEMPLATES, catalog.CONTACT_CONSENT,
        catalog.SUPPRESSIONS, catalog.CONTACTS, *catalog.ACCOUNT_RECORDS, catalog.SEGMENTS,
        catalog.SEGMENT_MEMBERSHIPS, catalog.HEALTH_SCORES, catalog.CHURN_SCORES,
        catalog.ALERTS, catalog.EVENT_INBOX, catalog.RECENT_EVENTS, catalog.EVENT_DAILY_COUNTS,
        catalog.JOURNEY_ENROLLMENTS, catalog.MESSAGES,
    ),
    writes=(
        catalog.JOURNEY_ENROLLMENTS, catalog.JOURNEY_STEP_RUNS, catalog.MESSAGES,
        catalog.ALERTS, catalog.ALERT_HISTORY, catalog.ALERT_DELIVERIES,
    ),
)  # fmt: skip
def journey_steps(context: StageContext) -> StageSummary:
    """Enrol the day's triggered contacts, end goals and churn, run the due journey steps."""
    if context.as_of < clock.now().date() - timedelta(days=LIVE_DAYS):
        return {"skipped": f"{context.as_of} is a backfill day; journeys advance on live days"}
    return tick(context.engine, context.settings)
