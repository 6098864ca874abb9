"""The daily pipeline: named stages run in order for one as-of day (or each day of a range)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from tenure.config import Settings
from tenure.errors import InputError

# Stages in the order they run: (name, "module:function"). Each function takes a StageContext
# and returns a small dict summarising what it did (printed by the CLI, kept in the run log).
# Stages after `sync` read only data with timestamps on or before the as-of day.
STAGES: tuple[tuple[str, str], ...] = (
    ("sync", "tenure.warehouse.pipeline:sync_stage"),
    ("metrics", "tenure.metrics.serving:run_stage"),
    ("segments", "tenure.segments.service:run_stage"),
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
        result = sync_inbox(engine=context.engine, warehouse=warehouse)
    return {
        "moved": result.moved,
        "already_in_warehouse": result.already_in_warehouse,
        "waiting_for_account": result.waiting_for_account,
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
    """Run the given stages for one day, yielding each stage's summary as it finishes."""
    targets = dict(STAGES)
    for name in stages:
        yield name, resolve_stage(targets[name])(context)


def days_between(first: date, last: date) -> list[date]:
    """Return every day from first to last inclusive; raise InputError if the range is empty."""
    if last < first:
        raise InputError(f"--to {last} is before --from {first}")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
