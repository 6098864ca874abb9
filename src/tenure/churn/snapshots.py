"""Build feature snapshots in the warehouse: one table per as-of day (features_YYYYMMDD)."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import ibis
import pandas as pd
from sqlalchemy import Engine

from tenure.churn import sources as src
from tenure.churn.definition import ChurnDefinition, churn_definition
from tenure.churn.features import MAX_EVENT_NAMES, feature_table
from tenure.churn.inactivity import definition_labels
from tenure.churn.windows import WINDOW_DAYS
from tenure.config import Settings
from tenure.errors import InputError
from tenure.warehouse.catalog import EVENTS, feature_table_name
from tenure.warehouse.connection import Warehouse

EVENTS_VIEW = "churn_src_events"


@dataclass
class Sources:
    """Ibis tables of everything features read, over one DuckDB connection."""

    tables: dict[str, Any]
    counts: dict[str, int]
    backend: Any
    definition: ChurnDefinition = field(default_factory=ChurnDefinition)


def open_sources(warehouse: Warehouse, engine: Engine, settings: Settings) -> Sources:
    """Register the app-DB entities on the warehouse connection and return Ibis tables."""
    counts = src.register_sources(warehouse.con, engine, settings)
    # Naive-UTC timestamps from the stored microseconds: no per-row time-zone conversion.
    warehouse.con.execute(
        f"CREATE OR REPLACE TEMP VIEW {EVENTS_VIEW} AS SELECT CAST(account_id AS BIGINT) "
        "AS account_id, name, contact_external_id, make_timestamp(epoch_us(ts)) AS ts "
        f"FROM {EVENTS}"
    )
    backend = warehouse.ibis
    tables = {
        "events": backend.table(EVENTS_VIEW),
        "subscriptions": backend.table(src.SUBSCRIPTIONS_VIEW),
        "invoices": backend.table(src.INVOICES_VIEW),
        "tickets": backend.table(src.TICKETS_VIEW),
        "surveys": backend.table(src.SURVEYS_VIEW),
        "accounts": backend.table(src.ACCOUNTS_VIEW),
    }
    return Sources(
        tables=tables, counts=counts, backend=backend, definition=churn_definition(settings)
    )


def event_names(con: Any, as_of: date, limit: int = MAX_EVENT_NAMES) -> list[str]:
    """Return the most frequent event names before the as-of cutoff (ties by name)."""
    cutoff = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    rows = con.execute(
        f"SELECT name FROM {EVENTS} WHERE ts < ? "
        "GROUP BY name ORDER BY count(*) DESC, name LIMIT ?",
        [cutoff, limit],
    ).fetchall()
    return [row[0] for row in rows]


def event_day_range(con: Any) -> tuple[date, date]:
    """Return the first and last UTC day with events; raise InputError when there are none."""
    first, last = con.execute(f"SELECT min(ts), max(ts) FROM {EVENTS}").fetchone()
    if first is None:
        raise InputError("the warehouse has no events; import events before building features")
    return first.astimezone(UTC).date(), last.astimezone(UTC).date()


def snapshot_dates(first: date, last: date, frequency: str) -> list[date]:
    """Return as-of days from first to last: month ends (monthly) or every 7th day back from last."""
    if frequency == "weekly":
        days, day = [], last
        while day >= first:
            days.append(day)
            day -= timedelta(days=7)
        return sorted(days)
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        end = date(year, month, calendar.monthrange(year, month)[1])
        if first <= end <= last:
            out.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def training_dates(con: Any, frequency: str) -> tuple[list[date], date]:
    """Return the as-of days with a full 90-day usage history, and the last data day."""
    first, last = event_day_range(con)
    start = first + timedelta(days=WINDOW_DAYS - 1)
    return snapshot_dates(start, last, frequency), last


def build_features(sources: Sources, as_ofs: Sequence[date], names: Sequence[str]) -> Any:
    """Return the Ibis feature expression for these as-of days."""
    if not as_ofs:
        raise InputError("no as-of days to build features for")
    return feature_table(sources.tables, as_ofs, names, sources.definition)


def write_feature_tables(
    warehouse: Warehouse, sources: Sources, expr: Any, as_ofs: Sequence[date]
) -> int:
    """Write one features_YYYYMMDD table per as-of day (replacing it); return rows written."""
    con = warehouse.con
    sources.backend.create_table("churn_features_all", expr, temp=True, overwrite=True)
    for as_of in as_ofs:
        con.execute(
            f"CREATE OR REPLACE TABLE {feature_table_name(as_of)} AS "
            "SELECT * FROM churn_features_all WHERE as_of = ?",
            [as_of],
        )
    (rows,) = con.execute("SELECT count(*) FROM churn_features_all").fetchone()
    con.execute("DROP TABLE churn_features_all")
    return int(rows)


def read_feature_table(con: Any, as_of: date) -> pd.DataFrame:
    """Return one as-of day's feature table; raise InputError when it has not been built."""
    name = feature_table_name(as_of)
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()[0]
    if not exists:
        raise InputError(
            f"no features for {as_of}: run `tenure pipeline run --as-of {as_of} --only features`"
        )
    # Through Arrow: about 1.6x faster than .df() for a million accounts (text columns).
    table = con.execute(f"SELECT * FROM {name}").to_arrow_table()
    return table.to_pandas(date_as_object=False)


def labelled_snapshots(
    warehouse: Warehouse,
    sources: Sources,
    as_ofs: Sequence[date],
    names: Sequence[str],
    horizon: int,
) -> pd.DataFrame:
    """Build, write and return the feature tables of these days with a `churned` label column."""
    expr = build_features(sources, as_ofs, names)
    write_feature_tables(warehouse, sources, expr, as_ofs)
    frames = [warehouse.con.execute(f"SELECT * FROM {feature_table_name(d)}").df() for d in as_ofs]
    features = pd.concat(frames, ignore_index=True)
    keys = ibis.memtable(features[["as_of", "account_id"]])
    tables = sources.tables
    expr = definition_labels(
        keys, tables["subscriptions"], tables["events"], horizon, sources.definition
    )
    labels = sources.backend.execute(expr)
    merged = features.merge(labels, on=["as_of", "account_id"], how="left", validate="1:1")
    merged["as_of"] = pd.to_datetime(merged["as_of"]).dt.date
    return merged
