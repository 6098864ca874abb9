"""The churn feature expression on PySpark: events from day-partitioned Parquet.

`TENURE_WAREHOUSE_URL=spark://MASTER?events=PATH` selects it. MASTER is what Spark's `master`
takes (`local[2]`, `spark://host:7077`, `yarn`); PATH is a directory or object-store prefix of
Parquet files partitioned by UTC day (`day=YYYY-MM-DD/…`, as `export_events` writes them). The
app-DB entities (subscriptions, invoices, tickets, surveys, accounts) are small next to the
events: they are read as on DuckDB and shipped to Spark as in-memory tables. The same Ibis
expression (churn/features.py) then runs on either backend; only the feature table (one row
per account) comes back, and the stage writes it into the DuckDB warehouse for scoring.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import ibis
import pyarrow as pa
from sqlalchemy import Engine

from tenure.churn import sources as src
from tenure.churn.definition import churn_definition
from tenure.churn.features import MAX_EVENT_NAMES
from tenure.churn.snapshots import Sources
from tenure.config import Settings
from tenure.errors import ConfigError
from tenure.warehouse.catalog import EVENTS

SCHEME = "spark://"
_URL = re.compile(r"^spark://(?P<master>[^?]+)\?(?P<query>.+)$")
_SESSIONS: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class SparkTarget:
    """A Spark master and the Parquet path of the events."""

    master: str
    events: str


def uses_spark(settings: Settings) -> bool:
    """Return whether the warehouse stages compute on Spark."""
    return bool(settings.warehouse_url) and settings.warehouse_url.startswith(SCHEME)


def parse_url(url: str) -> SparkTarget:
    """Return the target of spark://MASTER?events=PATH; raise ConfigError naming the problem."""
    match = _URL.match(url.strip())
    if not match:
        raise ConfigError(
            f"TENURE_WAREHOUSE_URL {url!r} is not spark://MASTER?events=PATH "
            "(e.g. spark://local[2]?events=/data/events)"
        )
    events = parse_qs(match["query"]).get("events", [""])[0]
    if not events:
        raise ConfigError(f"TENURE_WAREHOUSE_URL {url!r} names no events=PATH (Parquet by day)")
    master = unquote(match["master"])
    # spark://host:7077 is Spark's own scheme for a standalone master: keep it whole.
    if re.match(r"^[\w.-]+:\d+$", master):
        master = SCHEME + master
    return SparkTarget(master=master, events=unquote(events))


def spark_session(master: str) -> Any:
    """Return the process's Spark session for this master (started once, UTC, quiet)."""
    from pyspark.sql import SparkSession

    with _LOCK:
        if master not in _SESSIONS:
            builder = (
                SparkSession.builder.master(master)
                .appName("tenure")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", "8")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                # List the day partitions on the driver: a job per listing costs more locally.
                .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            )
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
            _SESSIONS[master] = session
        return _SESSIONS[master]


def export_events(con: Any, directory: Path) -> int:
    """Write the DuckDB warehouse's events as Parquet partitioned by UTC day; return rows."""
    directory.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"COPY (SELECT message_id, CAST(account_id AS BIGINT) AS account_id, "
        "account_external_id, contact_external_id, name, make_timestamp(epoch_us(ts)) AS ts, "
        "CAST(properties AS VARCHAR) AS properties, source, CAST(ts AS DATE) AS day "
        f"FROM {EVENTS}) TO '{directory}' (FORMAT PARQUET, PARTITION_BY (day), "
        "OVERWRITE_OR_IGNORE true)"
    )
    (rows,) = con.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()
    return int(rows)


def open_spark_sources(target: SparkTarget, engine: Engine, settings: Settings) -> Sources:
    """Return the feature sources on Spark: events from Parquet, app-DB entities in memory."""
    session = spark_session(target.master)
    backend = ibis.pyspark.connect(session)
    frame = session.read.parquet(target.events).selectExpr(
        "CAST(account_id AS BIGINT) AS account_id",
        "name",
        "contact_external_id",
        "CAST(ts AS TIMESTAMP_NTZ) AS ts",
        "day",
    )
    frame.createOrReplaceTempView("churn_src_events")
    arrow = {
        "subscriptions": src.subscriptions_table(engine, settings),
        "invoices": src.invoices_table(engine),
        "tickets": src.tickets_table(engine),
        "surveys": src.surveys_table(engine),
        "accounts": src.accounts_table(engine),
    }
    tables = {"events": backend.table("churn_src_events")}
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
