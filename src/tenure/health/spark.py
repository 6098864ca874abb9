"""Health's warehouse inputs on PySpark: the Ibis expressions of `health.usage` over Parquet.

Only the event reads move: usage, last logins, the population flags and (for an inactivity
churn definition) the recently active accounts are computed on Spark from the day-partitioned
events of TENURE_WAREHOUSE_URL; the app-DB inputs and the scoring stay where they are.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from tenure.health import usage
from tenure.warehouse.spark import parse_url, spark_events


def spark_inputs(
    url: str, day: date, logins: list[str], inactivity_days: int | None
) -> tuple[pd.DataFrame, dict[str, bool], list[int]]:
    """Return usage (with the real-time base), population flags and active ids, from Spark."""
    backend, events = spark_events(parse_url(url))
    found = usage.run_usage(backend, events, day, logins, with_base=True)
    flags = usage.run_flags(backend, events, day, logins)
    active = (
        [] if inactivity_days is None else usage.run_active(backend, events, day, inactivity_days)
    )
    return found, flags, active
