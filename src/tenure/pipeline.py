"""The daily pipeline: the stages in order, run for one as-of day (or each day of a range).

This module sits above the domains (ingest → warehouse → churn, metrics, health, loyalty,
segments, experiments → alerts → plays → journeys → risks → history → retention): it imports
their stages, while none of them imports it. Each stage declares what it reads and writes (see `tenure.stage` and
`tenure.warehouse.catalog`); stages after `sync` read only data with timestamps on or before
the as-of day.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.alerts.flows import opened_alerts
from tenure.churn.stages import account_features, churn_scores
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.events.recent import recent_events_copy
from tenure.experiments.stage import experiment_summaries
from tenure.health.daily import health_scores
from tenure.history.stage import score_history
from tenure.loyalty.stage import loyalty_points
from tenure.messaging.journeys_stage import journey_steps
from tenure.metrics.serving import retention_metrics
from tenure.plays.stage import play_runs
from tenure.privacy.retention import expired_personal_data
from tenure.reports.stage import risk_register
from tenure.segments.service import segment_memberships
from tenure.stage import Stage, StageContext, StageSummary
from tenure.tasks import kick_delivery
from tenure.warehouse.models import PipelineRun
from tenure.warehouse.stages.events import warehouse_events

STAGES: tuple[Stage, ...] = (
    warehouse_events,
    recent_events_copy,
    account_features,
    churn_scores,
    retention_metrics,
    health_scores,
    loyalty_points,
    segment_memberships,
    experiment_summaries,
    opened_alerts,
    play_runs,
    journey_steps,
    risk_register,
    score_history,
    expired_personal_data,
)


def select_stages(only: list[str] | None = None, skip: list[str] | None = None) -> list[Stage]:
    """Return the stages to run, in order, by CLI key; raise InputError naming an unknown one."""
    keys = [s.key for s in STAGES]
    for key in [*(only or []), *(skip or [])]:
        if key not in keys:
            raise InputError(f"unknown pipeline stage {key!r}; stages are {', '.join(keys)}")
    chosen = [s for s in STAGES if not only or s.key in only]
    return [s for s in chosen if s.key not in (skip or [])]


def run_day(context: StageContext, stages: list[Stage]) -> Iterator[tuple[str, StageSummary]]:
    """Run the given stages for one day, logging each, yielding (key, summary) as each ends.

    A stage that raises is logged as failed with its message and stops the day.
    """
    for stage in stages:
        run_id = _log_start(context, stage.key)
        try:
            summary = stage(context)
        except Exception as exc:
            _log_end(context, run_id, "failed", {}, str(exc) or type(exc).__name__)
            raise
        _log_end(context, run_id, "ok", summary, None)
        if stage in (opened_alerts, journey_steps) and "skipped" not in summary:
            # alerts know nothing of the task queue: the pipeline asks the worker to send now
            kick_delivery(context.settings)
        yield stage.key, summary


def _log_start(context: StageContext, stage: str) -> int:
    """Record that a stage started; return its run id."""
    with session_scope(context.engine) as session:
        run = PipelineRun(
            as_of=context.as_of, stage=stage, status="running", started_at=clock.now(), summary={}
        )
        session.add(run)
        session.flush()
        return run.id


def _log_end(
    context: StageContext, run_id: int, status: str, summary: StageSummary, error: str | None
) -> None:
    """Record how a stage ended."""
    with session_scope(context.engine) as session:
        run = session.get_one(PipelineRun, run_id)
        run.status, run.finished_at, run.error = status, clock.now(), error
        run.summary = json.loads(json.dumps(summary, default=str))


def last_runs(session: Session, limit: int = 20) -> list[PipelineRun]:
    """Return the most recent stage runs, newest first."""
    query = select(PipelineRun).order_by(PipelineRun.started_at.desc(), PipelineRun.id.desc())
    return list(session.scalars(query.limit(limit)))


def last_success(session: Session) -> PipelineRun | None:
    """Return the latest stage run that ended well (None if none did)."""
    query = select(PipelineRun).where(PipelineRun.status == "ok")
    query = query.order_by(PipelineRun.finished_at.desc(), PipelineRun.id.desc()).limit(1)
    return session.scalars(query).first()
