"""Experiment metrics on PySpark: `experiments.warehouse.variant_summaries` over Parquet events.

The exposures and the app-DB subscriptions and tickets go to Spark as in-memory tables (as the
churn features' entities do); the events are the day-partitioned Parquet of
TENURE_WAREHOUSE_URL, read up to the analysis day only (later day partitions pruned).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import ibis

from tenure.experiments.warehouse import MetricSources, variant_summaries
from tenure.warehouse.spark import parse_url, spark_events

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from tenure.config import Settings
    from tenure.experiments.definitions import MetricDefinition
    from tenure.experiments.schemas import MetricSummary


def spark_summaries(
    settings: Settings,
    engine: Engine,
    exposures: pd.DataFrame,
    definitions: Sequence[MetricDefinition],
    as_of: date,
) -> dict[str, dict[str, MetricSummary]]:
    """Return metric → variant → MetricSummary computed on Spark (same expression as DuckDB)."""
    from tenure.churn.sources import subscriptions_table, tickets_table

    backend, events = spark_events(parse_url(settings.warehouse_url or ""))
    events = events.filter(events.day <= as_of)
    sources = MetricSources(
        events=events.select("account_id", "name", "ts"),
        subscriptions=ibis.memtable(subscriptions_table(engine, settings)),
        tickets=ibis.memtable(tickets_table(engine)),
    )
    units = ibis.memtable(exposures)
    return variant_summaries(units, sources, definitions, as_of, backend)
