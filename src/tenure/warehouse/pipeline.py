"""The daily pipeline: named stages run in order for one as-of day (or each day of a range)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.warehouse.models import PipelineRun

# Stages in the order they run: (name, "module:function"). Each function takes a StageContext
# and returns a small dict summarising what it did (printed by the CLI, kept in the run log).
# Stages after `sync` read only data with timestamps on or before the as-of day.
STAGES: tuple[tuple[str, str], ...] = (
    ("sync", "tenure.warehouse.pipeline:sync_stage"),
    ("features", "tenure.warehouse.stages.features:features_stage"),
    ("scores", "tenure.churn.scoring:scores_stage"),
    ("metrics", "tenure.metrics.serving:run_stage"),
    ("health", "tenure.health.daily:run_stage"),
    ("segments", "tenure.segments.service:run_stage"),
    ("alerts", "tenure.alerts.flows:run_stage"),
)


@dataclass(frozen=True)
class StageContext:
    """What a stage gets: settings, the migrated app-DB engine and the as-of day."""

    settings: Settings
    engine: Engine
    as_of: date


StageFunction = Callable[[StageContext], dict[str, Any]]


def sync_stage(context: StageContext) -> dict[str, Any]:
    """Move the event inbox into the warehouse (idempotent)."""
    from tenure.events.service import sync_inbox
    from tenure.warehouse.connection import open_warehouse

    with open_warehouse(context.settings) as warehouse:
        result = sync_inbox(
            engine=context.engine,
            warehouse=warehouse,
            unknown_account_days=context.settings.inbox_unknown_account_days,
        )
    return {
        "moved": result.moved,
        "already_in_warehouse": result.already_in_warehouse,
        "waiting_for_account": result.waiting_for_account,
        "expired_unknown_account": result.expired_unknown_account,
    }


def resolve_stage(target: str) -> StageFunction:
    """Import the function named by "module:function"."""
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def select_stages(only: list[str] | None = None, skip: list[str] | None = None) -> list[str]:
    """Return the stage names to run, in order; raise InputError naming an unknown stage."""
    names = [name for name, _ in STAGES]
    for name in [*(only or []), *(skip or [])]:
        if name not in names:
            raise InputError(f"unknown pipeline stage {name!r}; stages are {', '.join(names)}")
    chosen = [n for n in names if not only or n in only]
    return [n for n in chosen if n not in (skip or [])]


def run_day(context: StageContext, stages: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run the given stages for one day, logging each, yielding its summary as it finishes.

    A stage that raises is logged as failed with its message and stops the day.
    """
    targets = dict(STAGES)
    for name in stages:
        run_id = _log_start(context, name)
        try:
            summary = resolve_stage(targets[name])(context)
        except Exception as exc:
            _log_end(context, run_id, "failed", {}, str(exc) or type(exc).__name__)
            raise
        _log_end(context, run_id, "ok", summary, None)
        yield name, summary


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
    context: StageContext, run_id: int, status: str, summary: dict[str, Any], error: str | None
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
