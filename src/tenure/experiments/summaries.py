"""Experiment metrics per variant from the warehouse: on DuckDB, or on Spark when it is set."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import ibis

from tenure.experiments.spark import spark_summaries
from tenure.experiments.warehouse import MetricSources, variant_summaries

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from tenure.config import Settings
    from tenure.experiments.definitions import MetricDefinition
    from tenure.experiments.schemas import MetricSummary


def warehouse_summaries(
    settings: Settings,
    engine: Engine,
    exposures: pd.DataFrame,
    definitions: Sequence[MetricDefinition],
    as_of: date,
) -> dict[str, dict[str, MetricSummary]]:
    """Summarise metrics of exposures (unit_id = app account id, variant, first_exposed_at).

    Opens the warehouse read-only, registers the app-DB subscriptions (MRR in reporting
    minor units) and tickets on its connection as Arrow views (as churn features do) and runs
    `variant_summaries` over its events. With TENURE_WAREHOUSE_URL=spark://… the same
    expression runs on Spark over the day-partitioned Parquet events (`experiments.spark`).
    """
    from tenure.churn.sources import subscriptions_table, tickets_table
    from tenure.warehouse.catalog import EVENTS
    from tenure.warehouse.connection import open_warehouse
    from tenure.warehouse.spark import uses_spark

    if uses_spark(settings):
        return spark_summaries(settings, engine, exposures, definitions, as_of)

    with open_warehouse(settings, read_only=True) as warehouse:
        con = warehouse.con
        con.register("experiment_subscriptions", subscriptions_table(engine, settings))
        con.register("experiment_tickets", tickets_table(engine))
        con.register("experiment_exposures", exposures)
        db = ibis.duckdb.from_connection(con)
        sources = MetricSources(
            events=db.table(EVENTS),
            subscriptions=db.table("experiment_subscriptions"),
            tickets=db.table("experiment_tickets"),
        )
        return variant_summaries(db.table("experiment_exposures"), sources, definitions, as_of)
