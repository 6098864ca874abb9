"""Event windows and column names shared by the per-day and the one-scan usage builds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import ibis.expr.types as ir

WINDOW_DAYS = 90
EPOCH = date(1970, 1, 1)


def event_column(name: str) -> str:
    """Return the feature-column stem of an event name (e.g. "Report Viewed" → report_viewed)."""
    stem = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return f"ev_{stem or 'unnamed'}"


def day_number(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Return the UTC day number (days since 1970-01-01) without a time-zone conversion."""
    return (ts.epoch_seconds() // 86_400).cast("int64")


def name_counts(names: Sequence[str]) -> dict[str, str]:
    """Return the per-day count column of each distinct event name (n_0, n_1, ...)."""
    return {name: f"n_{i}" for i, name in enumerate(dict.fromkeys(names))}
