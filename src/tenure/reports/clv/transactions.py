"""Summarise a transactions CSV per customer in DuckDB SQL (BTYD calibration summary)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from tenure.errors import InputError
from tenure.reports.clv.data import UNIT_DAYS, Summary
from tenure.reports.clv.files import _connect, _first_bad, _load, _require

# A date cell is read as an ISO date or timestamp, else as a compact YYYYMMDD.
DATE_SQL = "COALESCE(TRY_CAST({col} AS DATE), TRY_STRPTIME({col}, '%Y%m%d')::DATE)"

SUMMARY_SQL = """
WITH days AS (
    SELECT customer, day, SUM(amount) AS amount
    FROM typed WHERE day <= $end GROUP BY customer, day
), span AS (
    SELECT customer, MIN(day) AS first_day, MAX(day) AS last_day, COUNT(*) - 1 AS frequency
    FROM days GROUP BY customer
)
SELECT s.customer, s.frequency,
       date_diff('day', s.first_day, s.last_day) / $unit AS recency,
       date_diff('day', s.first_day, $end) / $unit AS "T",
       AVG(d.amount) FILTER (WHERE d.day > s.first_day) AS monetary_value
FROM span s JOIN days d USING (customer)
GROUP BY s.customer, s.frequency, s.first_day, s.last_day
ORDER BY s.customer
"""


def _typed(con, path: Path, customer: str, day: str, amount: str) -> None:
    """Check the three columns cell by cell and create the typed table `typed`."""
    quote = lambda name: '"' + name.replace('"', '""') + '"'  # noqa: E731
    _first_bad(con, path, customer, "NULLIF(TRIM({col}), '')")
    _first_bad(con, path, day, DATE_SQL)
    _first_bad(con, path, amount, "TRY_CAST({col} AS DOUBLE)")
    con.execute(
        f"CREATE TABLE typed AS SELECT TRIM({quote(customer)}) AS customer, "
        f"{DATE_SQL.format(col=quote(day))} AS day, "
        f"CAST({quote(amount)} AS DOUBLE) AS amount FROM raw"
    )


def summarise_transactions(
    path: Path,
    customer: str,
    day: str,
    amount: str,
    calibration_end: date | None = None,
    unit: str = "weeks",
) -> Summary:
    """Return the per-customer summary of PATH up to CALIBRATION_END (default: last date)."""
    con = _connect()
    columns = _load(con, path)
    _require(path, columns, (customer, day, amount))
    _typed(con, path, customer, day, amount)
    end = calibration_end or con.execute("SELECT MAX(day) FROM typed").fetchone()[0]
    if end is None:
        raise InputError(f"{path}: no transactions")
    rows = con.execute(SUMMARY_SQL, {"end": end, "unit": UNIT_DAYS[unit]}).fetchall()
    if not rows:
        raise InputError(f"{path}: no transactions on or before {end}")
    money = np.array([np.nan if r[4] is None else r[4] for r in rows], float)
    return Summary(
        frequency=np.array([r[1] for r in rows], float),
        recency=np.array([r[2] for r in rows], float),
        T=np.array([r[3] for r in rows], float),
        monetary_value=money,
        ids=[r[0] for r in rows],
        unit=unit,
        id_column=customer,
    )
