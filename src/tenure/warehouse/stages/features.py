"""Pipeline stage `features`: build the as-of day's churn feature table (features_YYYYMMDD).

The event names that get their own columns come from the champion model's card when there is
one (so the day's table has exactly the columns the model reads), else from the most frequent
names before the as-of.
"""

from __future__ import annotations

from typing import Any

from tenure.churn import registry
from tenure.churn.snapshots import (
    build_features,
    event_names,
    feature_table_name,
    open_sources,
    write_feature_tables,
)
from tenure.errors import NotFound
from tenure.warehouse.connection import open_warehouse


def champion_event_names(context: Any) -> list[str] | None:
    """Return the champion's event names, or None without a champion."""
    name = registry.model_name(context.settings.churn_horizon_days)
    try:
        loaded = registry.load_version(context.settings, name)
    except NotFound:
        return None
    return list(loaded.card["features"]["event_names"])


def features_stage(context: Any) -> dict[str, Any]:
    """Build and write the day's feature table; return its name and row count."""
    names = champion_event_names(context)
    with open_warehouse(context.settings) as warehouse:
        sources = open_sources(warehouse, context.engine, context.settings)
        if names is None:
            names = event_names(warehouse.con, context.as_of)
        expr = build_features(sources, [context.as_of], names)
        rows = write_feature_tables(warehouse, sources, expr, [context.as_of])
    return {"table": feature_table_name(context.as_of), "accounts": rows}
