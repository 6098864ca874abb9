"""The churn features on PySpark: the same Ibis expression as on DuckDB (churn/features.py).

The app-DB entities (subscriptions, invoices, tickets, surveys, accounts) are small next to the
events: they are read as for DuckDB and shipped to Spark as in-memory tables; the events come
from the day-partitioned Parquet of TENURE_WAREHOUSE_URL. Only the feature table (one row per
account) comes back, and the stage writes it into the DuckDB warehouse for scoring.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import ibis
import pyarrow as pa
from sqlalchemy import Engine

from tenure.churn import sources as src
from tenure.churn.definition import churn_definition
from tenure.churn.features import MAX_EVENT_NAMES, feature_table
from tenure.churn.snapshots import Sources
from tenure.churn.windows import WINDOW_DAYS
from tenure.config import Settings
from tenure.warehouse.catalog import feature_table_name
from tenure.warehouse.spark import SparkTarget, parse_url, read_events, spark_session

EVENTS_VIEW = "churn_src_events"


def open_spark_sources(target: SparkTarget, engine: Engine, settings: Settings) -> Sources:
    """Return the feature sources on Spark: events from Parquet, app-DB entities in memory."""
    session = spark_session(target)
    backend = ibis.pyspark.connect(session)
    frame = read_events(session, target)
    frame.createOrReplaceTempView(EVENTS_VIEW)
    arrow = {
        "subscriptions": src.subscriptions_table(engine, settings),
        "invoices": src.invoices_table(engine),
        "tickets": src.tickets_table(engine),
        "surveys": src.surveys_table(engine),
        "accounts": src.accounts_table(engine),
    }
    tables = {"events": backend.table(EVENTS_VIEW)}
    tables |= {name: ibis.memtable(table) for name, table in arrow.items()}
    counts = {name: table.num_rows for name, table in arrow.items()}
    return Sources(
        tables=tables, counts=counts, backend=backend, definition=churn_definition(settings)
    )


def window_events(events: Any, as_of: date, days: int) -> Any:
    """Return the events of the `days` days up to the as-of, pruned by the day partitions."""
    first = as_of - timedelta(days=days - 1)
    return events.filter(events.day >= first, events.day <= as_of)


def top_event_names(events: Any, as_of: date, limit: int = MAX_EVENT_NAMES) -> list[str]:
    """Return the most frequent event names before the as-of cutoff (ties by name)."""
    cutoff = datetime.combine(as_of + timedelta(days=1), time())
    known = events.filter(events.ts < cutoff)
    counts = known.group_by("name").aggregate(n=known.count())
    top = counts.order_by([ibis.desc("n"), "name"]).limit(limit)
    return list(top.execute()["name"])


def spark_feature_table(expr: Any, backend: Any) -> pa.Table:
    """Run a feature expression on Spark and return it as Arrow (rows ordered as built)."""
    return backend.to_pyarrow(expr)


def spark_day_features(
    settings: Settings, engine: Engine, as_of: date, names: list[str] | None
) -> tuple[pa.Table, list[str]]:
    """Build one as-of day's churn feature table on Spark; return it and the event names used.

    Under the subscription churn definition only the 90 days of events up to the as-of are
    read (day partitions pruned); an inactivity definition reads every day before the cutoff.
    """
    target = parse_url(settings.warehouse_url or "")
    sources = open_spark_sources(target, engine, settings)
    events = sources.tables["events"]
    if names is None:
        names = top_event_names(events, as_of)
    tables = dict(sources.tables)
    if not sources.definition.uses_events:
        tables["events"] = window_events(events, as_of, WINDOW_DAYS + 1)
    expr = feature_table(tables, [as_of], names, sources.definition)
    return spark_feature_table(expr, sources.backend), names


def write_day_features(con: Any, as_of: date, table: pa.Table) -> int:
    """Write a feature table computed elsewhere as the as-of day's DuckDB table; return rows."""
    con.register("spark_features_day", table)
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {feature_table_name(as_of)} AS "
            "SELECT * FROM spark_features_day ORDER BY as_of, account_id"
        )
    finally:
        con.unregister("spark_features_day")
    return table.num_rows
