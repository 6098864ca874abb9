"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text

from tenure.alerts.evaluation import RULE_METRICS
from tenure.api.errors import problem, responses
from tenure.churn.models import ChurnScore
from tenure.db.session import session_scope
from tenure.events.models import InboxEvent
from tenure.health.models import HealthScore
from tenure.tasks import build_huey
from tenure.warehouse.models import PipelineRun

router = APIRouter(tags=["operations"])
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set by `tenure serve --workers N` (N > 1)


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """Return ok while the process is up."""
    return {"status": "ok"}


def _check_database(request: Request) -> str | None:
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"app database unreachable: {type(exc).__name__}"
    return None


def _check_warehouse(request: Request) -> str | None:
    path = request.app.state.settings.warehouse_path
    if not path.exists():
        return f"warehouse file {path} is missing (run `tenure init`)"
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        return f"warehouse file {path} is not readable: {exc.strerror}"
    return None


@router.get(
    "/readyz", summary="Readiness: app DB and warehouse reachable", responses=responses(503)
)
def readyz(request: Request) -> JSONResponse:
    """Return 200 when the app DB answers and the warehouse file is readable, else 503."""
    problems = [p for p in (_check_database(request), _check_warehouse(request)) if p]
    if problems:
        return problem(503, "not ready: " + "; ".join(problems))
    return JSONResponse({"status": "ready"})


class _ServingCollector:
    """Scrape-time gauges: last scored day, inbox backlog, task queue depth."""

    def __init__(self, request: Request) -> None:
        self.engine = request.app.state.engine
        self.settings = request.app.state.settings

    def collect(self) -> Any:
        with session_scope(self.engine) as session:
            health = session.scalar(select(func.max(HealthScore.updated_at)))
            churn = session.scalar(select(func.max(ChurnScore.scored_at)))
            backlog = session.scalar(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.synced_at.is_(None))
            )
        last = GaugeMetricFamily(
            "tenure_last_pipeline_run_timestamp_seconds",
            "When the pipeline last wrote serving scores (Unix time; 0 if never)",
            labels=["table"],
        )
        for table, at in (("health_score", health), ("churn_score", churn)):
            last.add_metric([table], at.timestamp() if at else 0.0)
        yield last
        yield GaugeMetricFamily(
            "tenure_event_inbox_backlog", "Events waiting to move to the warehouse", backlog or 0
        )
        yield from _pipeline_runs(self.engine)
        depth = _queue_depth(self.settings)
        if depth is not None:
            yield GaugeMetricFamily("tenure_task_queue_depth", "Tasks waiting in the queue", depth)


def _pipeline_runs(engine: Any) -> Any:
    """Yield when each pipeline stage last finished, by outcome, and the as-of day it ran for."""
    query = select(
        PipelineRun.stage,
        PipelineRun.status,
        func.max(PipelineRun.finished_at),
        func.max(PipelineRun.as_of),
    ).group_by(PipelineRun.stage, PipelineRun.status)
    with session_scope(engine) as session:
        rows = session.execute(query).all()
    finished = GaugeMetricFamily(
        "tenure_pipeline_stage_finished_timestamp_seconds",
        "When each pipeline stage last finished (Unix time), by status",
        labels=["stage", "status"],
    )
    as_of = GaugeMetricFamily(
        "tenure_pipeline_stage_as_of_timestamp_seconds",
        "The newest as-of day each stage ran for (Unix time of its midnight UTC), by status",
        labels=["stage", "status"],
    )
    for stage, status, at, day in rows:
        if at is not None:
            finished.add_metric([stage, status], at.timestamp())
        if day is not None:
            midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
            as_of.add_metric([stage, status], midnight.timestamp())
    yield finished
    yield as_of


def _queue_depth(settings: Any) -> int | None:
    """Return how many tasks wait in the queue (SQLite or Redis), or None when unreachable."""
    try:
        return int(build_huey(settings).pending_count())
    except Exception:
        return None


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Return request counters, latencies and serving gauges in the Prometheus text format."""
    serving = CollectorRegistry(auto_describe=False)
    serving.register(_ServingCollector(request))
    if os.environ.get(MULTIPROC_ENV):  # several workers: sum what every worker recorded
        payload = generate_latest(_multiprocess_registry()) + generate_latest(serving)
    else:
        payload = generate_latest(request.app.state.registry) + generate_latest(serving)
        payload += generate_latest(RULE_METRICS)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)


def _multiprocess_registry() -> CollectorRegistry:
    """Return a registry reading the counters and histograms every worker wrote to the dir."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
