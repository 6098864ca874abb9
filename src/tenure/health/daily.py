"""The daily health stage: score every live account as of the day, in bulk, and store it."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from tenure.accounts.schemas import Money
from tenure.churn.definition import ChurnDefinition, churn_definition
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.health import service
from tenure.health.flows import score_day
from tenure.health.inputs import population_flags, warehouse_usage
from tenure.health.population import recently_active
from tenure.notifications import get_bus
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog
from tenure.warehouse.connection import open_warehouse
from tenure.warehouse.spark import uses_spark


def warehouse_inputs(
    settings: Settings, day: date, definition: ChurnDefinition
) -> tuple[pd.DataFrame, dict[str, bool], list[int]]:
    """Return usage, population flags and active ids from the warehouse (DuckDB or Spark)."""
    logins = list(settings.health_login_events)
    inactivity = definition.inactivity_days if definition.uses_events else None
    if uses_spark(settings):
        from tenure.health.spark import spark_inputs

        return spark_inputs(settings.warehouse_url or "", day, logins, inactivity)
    with open_warehouse(settings, read_only=True) as warehouse:
        usage = warehouse_usage(warehouse.con, day, logins, with_base=True)
        available = population_flags(warehouse.con, day, logins)
        active_ids = [] if inactivity is None else recently_active(warehouse.con, day, inactivity)
    return usage, available, active_ids


def recompute_day(settings: Settings, engine: Engine, day: date) -> dict[str, Any]:
    """Score every live account as of day, replace the day's rows, publish changes."""
    started = time.perf_counter()
    definition = churn_definition(settings)
    usage, available, active_ids = warehouse_inputs(settings, day, definition)
    read = time.perf_counter()
    with session_scope(engine) as db_session:
        scores = score_day(
            db_session,
            day,
            usage,
            available,
            drop_points=settings.health_score_drop_points,
            as_text=True,
            money=Money.from_settings(settings),
            definition=definition,
            active_ids=active_ids,
        )
        scored = time.perf_counter()
        service.replace_day(db_session, day, scores.rows)
        service.store_references(db_session, day, scores.references)
        base_stored = service.store_usage_base(db_session, day, usage)
    for note in scores.notes:
        get_bus().publish(note)
    tiers = Counter(row["tier"] for row in scores.rows)
    return {
        "engine": "spark" if uses_spark(settings) else "duckdb",
        "accounts": len(scores.rows),
        "tiers": dict(sorted(tiers.items())),
        "notifications": len(scores.notes),
        "realtime_baseline": base_stored,
        "seconds": {
            "warehouse": round(read - started, 2),
            "score": round(scored - read, 2),
            "write": round(time.perf_counter() - scored, 2),
        },
    }


@stage(
    "health",
    reads=(
        catalog.WAREHOUSE_EVENTS,
        *catalog.ACCOUNT_RECORDS,
        catalog.CHURN_SCORES,
        catalog.SCORECARDS,
        catalog.SEGMENTS,
        catalog.HEALTH_SCORES,
        catalog.HEALTH_REFERENCES,
        catalog.USAGE_BASE,
    ),
    writes=(catalog.HEALTH_SCORES, catalog.HEALTH_REFERENCES, catalog.USAGE_BASE),
    reads_earlier_runs=(catalog.SEGMENT_MEMBERSHIPS,),
)
def health_scores(context: StageContext) -> StageSummary:
    """Score every live account's health as of the day (replacing the day's scores)."""
    return recompute_day(context.settings, context.engine, context.as_of)
