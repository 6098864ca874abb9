"""The churn pipeline stages: the day's feature table, then the champion's scores.

The event names that get their own feature columns come from the champion model's card when
there is one (so the day's table has exactly the columns the model reads), else from the most
frequent names before the as-of.
"""

from __future__ import annotations

from tenure.churn import registry
from tenure.churn.scoring import no_champion_reason, score_day
from tenure.churn.snapshots import build_features, event_names, open_sources, write_feature_tables
from tenure.config import Settings
from tenure.errors import NotFound
from tenure.logging import get_logger
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog
from tenure.warehouse.catalog import feature_table_name
from tenure.warehouse.connection import open_warehouse
from tenure.warehouse.spark import uses_spark

log = get_logger("churn.stages")

# What the feature and scoring queries read from the app DB (registered on DuckDB as views).
ACCOUNT_RECORDS = catalog.ACCOUNT_RECORDS


def champion_event_names(settings: Settings) -> list[str] | None:
    """Return the champion's event names, or None without a champion."""
    name = registry.model_name(settings.churn_horizon_days)
    try:
        loaded = registry.load_version(settings, name)
    except NotFound:
        return None
    return list(loaded.card["features"]["event_names"])


@stage(
    "features",
    reads=(catalog.WAREHOUSE_EVENTS, *ACCOUNT_RECORDS, catalog.CHURN_MODEL),
    writes=(catalog.CHURN_FEATURES,),
)
def account_features(context: StageContext) -> StageSummary:
    """Build and write the day's churn feature table; return its name and row count."""
    names = champion_event_names(context.settings)
    if uses_spark(context.settings):
        return _spark_features(context, names)
    with open_warehouse(context.settings) as warehouse:
        sources = open_sources(warehouse, context.engine, context.settings)
        if names is None:
            names = event_names(warehouse.con, context.as_of)
        expr = build_features(sources, [context.as_of], names)
        rows = write_feature_tables(warehouse, sources, expr, [context.as_of])
    return {"table": feature_table_name(context.as_of), "accounts": rows}


def _spark_features(context: StageContext, names: list[str] | None) -> StageSummary:
    """Build the day's features on Spark and write them into the DuckDB warehouse for scoring."""
    from tenure.churn.spark import spark_day_features, write_day_features

    table, _ = spark_day_features(context.settings, context.engine, context.as_of, names)
    with open_warehouse(context.settings) as warehouse:
        rows = write_day_features(warehouse.con, context.as_of, table)
    return {"table": feature_table_name(context.as_of), "accounts": rows, "engine": "spark"}


@stage(
    "scores",
    reads=(catalog.CHURN_FEATURES, catalog.WAREHOUSE_EVENTS, catalog.CHURN_MODEL),
    writes=(catalog.CHURN_SCORES,),
)
def churn_scores(context: StageContext) -> StageSummary:
    """Score the as-of day with the champion (skipped without one)."""
    try:
        return score_day(context.settings, context.engine, context.as_of)
    except NotFound as exc:
        if "no champion" not in str(exc):
            raise
        reason = no_champion_reason(context.settings)
        log.warning("churn_scores_skipped", as_of=str(context.as_of), reason=reason)
        return {"scored": 0, "skipped": reason}
