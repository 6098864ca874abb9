"""The Spark warehouse: its URL, the session, and events exported as Parquet partitioned by day.

`TENURE_WAREHOUSE_URL=spark://MASTER?events=PATH` selects it. MASTER is what Spark's `master`
takes (`local[2]`, `spark://host:7077`, `yarn`); PATH is a directory or object-store prefix of
Parquet files partitioned by UTC day (`day=YYYY-MM-DD/…`, as `export_events` writes them).
What runs on it lives with the stages (churn/spark.py); this module knows no stage.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from tenure.config import Settings
from tenure.errors import ConfigError
from tenure.warehouse.catalog import EVENTS

SCHEME = "spark://"
_URL = re.compile(r"^spark://(?P<master>[^?]+)\?(?P<query>.+)$")
_SESSIONS: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class SparkTarget:
    """A Spark master and the Parquet path of the events."""

    master: str
    events: str
    conf: tuple[tuple[str, str], ...] = ()


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
    query = parse_qs(match["query"])
    events = query.get("events", [""])[0]
    conf = tuple(sorted((k, v[-1]) for k, v in query.items() if k.startswith("spark.")))
    if not events:
        raise ConfigError(f"TENURE_WAREHOUSE_URL {url!r} names no events=PATH (Parquet by day)")
    master = unquote(match["master"])
    # spark://host:7077 is Spark's own scheme for a standalone master: keep it whole.
    if re.match(r"^[\w.-]+:\d+$", master):
        master = SCHEME + master
    return SparkTarget(master=master, events=unquote(events), conf=conf)


def shuffle_partitions(master: str) -> int:
    """Return the shuffle partitions: the cores of local[N] (a book per machine), else 200."""
    match = re.match(r"^local\[(\d+)\]$", master)
    return max(int(match[1]), 2) if match else 200


def spark_session(target: SparkTarget) -> Any:
    """Return the process's Spark session for this target (started once, UTC, quiet).

    Query keys of the URL that start with `spark.` are passed on as Spark settings.
    """
    from pyspark.sql import SparkSession

    master = target.master
    with _LOCK:
        if (master, target.conf) not in _SESSIONS:
            builder = (
                SparkSession.builder.master(master)
                .appName("tenure")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", str(shuffle_partitions(master)))
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                # List the day partitions on the driver: a job per listing costs more locally.
                .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            )
            for key, value in target.conf:
                builder = builder.config(key, value)
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
            _SESSIONS[master, target.conf] = session
        return _SESSIONS[master, target.conf]


def export_events(con: Any, directory: Path) -> int:
    """Bring the day-partitioned Parquet events up to date (parquet_events); return all rows."""
    from tenure.warehouse.parquet_events import export_event_days

    export_event_days(con, directory)
    (rows,) = con.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()
    return int(rows)


# The columns the stages read, typed: no schema-inference job over the Parquet footers.
EVENTS_SCHEMA = (
    "account_id BIGINT, contact_external_id STRING, name STRING, ts TIMESTAMP_NTZ, day DATE"
)


def read_events(session: Any, target: SparkTarget) -> Any:
    """Return a Spark DataFrame of the events (account_id, contact, name, ts, day)."""
    return session.read.schema(EVENTS_SCHEMA).parquet(target.events)


EVENTS_VIEW = "tenure_events"


def spark_events(target: SparkTarget) -> tuple[Any, Any]:
    """Return an Ibis PySpark backend and its events table (the day-partitioned Parquet)."""
    import ibis

    session = spark_session(target)
    read_events(session, target).createOrReplaceTempView(EVENTS_VIEW)
    backend = ibis.pyspark.connect(session)
    return backend, backend.table(EVENTS_VIEW)
