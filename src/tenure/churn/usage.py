"""Usage features of one as-of day from a single scan of its 90-day event window.

The daily `features` stage builds one as-of day. Reading only the events inside the longest
window once, every window count, per-name count and active-day count is a conditional
aggregate of the same GROUP BY account: no per-(account, day) table in between. Active days
are exact without COUNT(DISTINCT): each event sets the bit of its age in days in one of two
64-bit masks (ages 0-59 and 60-89), and the days are the set bits. Distinct event names are
the listed names with a 30-day count plus the distinct unlisted ones (rare by construction:
the listed names are the most frequent). Active users come from each contact's latest day
in the 30 days (an aggregate on account and contact), joined on.

The values equal those of features.usage_features and features.user_features for the same
day (tests/churn/test_usage.py checks it); many as-of days still go through those (one
per-day table shared by every as-of costs less than one scan per day).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from tenure.churn.windows import EPOCH, WINDOW_DAYS, day_number, event_column, name_counts

LOW_BITS = 60  # ages 0-59 in the first mask, 60-89 in the second
LAST_30_BITS = (1 << 30) - 1
UNLISTED = -1
TOP_BIT = 1 << 62


@ibis.udf.scalar.builtin
def bit_count(value: dt.int64) -> dt.int8:
    """Return the number of set bits (DuckDB's and Spark's bit_count)."""


@ibis.udf.agg.builtin
def bit_or(value: dt.int64) -> dt.int64:
    """Return the bitwise OR of the values (DuckDB's and Spark's bit_or; Ibis has no Spark rule)."""


def _in_window(events: ir.Table, as_of: date, days: int) -> ir.Table:
    """Return account_id, name, contact, age (days before the as-of) of the last `days` days."""
    cutoff = datetime.combine(as_of + timedelta(days=1), time())
    recent = events.filter(events.ts < cutoff, events.ts >= cutoff - timedelta(days=days))
    return recent.select(
        account_id=recent.account_id,
        name=recent.name,
        contact=recent.contact_external_id,
        age=(as_of - EPOCH).days - day_number(recent.ts),
    )


def _active_days(age: ir.IntegerColumn) -> dict[str, ir.Value]:
    """Return the two day masks of the events' ages (bit = age, or age - 60, in days)."""
    # 2^62 >> (62 - k) = 2^k: Spark reads a small literal 1 as a 32-bit int and its shiftleft
    # wraps at 32, while 2^62 is a 64-bit literal on both backends.
    bit = ibis.literal(TOP_BIT, "int64") >> (62 - age % LOW_BITS)
    return {
        "days_low": bit_or(bit, where=age < LOW_BITS),
        "days_high": bit_or(bit, where=age >= LOW_BITS),
    }


def _name_code(name: ir.StringColumn, listed: list[str]) -> ir.Value:
    """Return each event name's position among the listed names, UNLISTED if absent or none."""
    if not listed:  # an empty book has no frequent names yet
        return ibis.literal(UNLISTED, "int64")
    return name.cases(*((value, i) for i, value in enumerate(listed)), else_=UNLISTED)


def _window_counts(w: ir.Table, names: Sequence[str]) -> ir.Table:
    """Return one row per account: window counts, day masks, recency and per-name counts."""
    named = name_counts(names)
    w = w.mutate(code=_name_code(w.name, list(named)))
    last_30, prev_30 = w.age < 30, (w.age >= 30) & (w.age < 60)
    columns = {
        "events_7d": w.count(where=w.age < 7),
        "events_30d": w.count(where=last_30),
        "events_prev_30d": w.count(where=prev_30),
        "events_90d": w.count(),
        **_active_days(w.age),
        "other_names_30d": w.name.nunique(where=last_30 & (w.code == UNLISTED)),
        "days_since_last_event": w.age.min(),
    }
    for i, col in enumerate(named.values()):
        columns[f"{col}_30d"] = w.count(where=last_30 & (w.code == i))
        columns[f"{col}_prev"] = w.count(where=prev_30 & (w.code == i))
    return w.group_by("account_id").aggregate(**columns)


def _active_users(events: ir.Table, as_of: date) -> ir.Table:
    """Return distinct contacts active in the 7 and 30 days (each contact's latest age)."""
    w = _in_window(events, as_of, 30)
    known = w.filter(w.contact.notnull())
    latest = known.group_by(["account_id", "contact"]).aggregate(age=known.age.min())
    return latest.group_by("account_id").aggregate(
        active_users_7d=latest.count(where=latest.age < 7),
        active_users_30d=latest.count(),
    )


def day_usage(events: ir.Table, as_of: date, names: Sequence[str]) -> ir.Table:
    """Return as_of, account_id and every usage and active-user feature of one as-of day."""
    w = _in_window(events, as_of, WINDOW_DAYS)
    t = _window_counts(w, names)
    users = _active_users(events, as_of)
    t = t.left_join(users, "account_id").drop("account_id_right")
    low, high = t.days_low.fill_null(0), t.days_high.fill_null(0)
    named = name_counts(names)
    seen = t.other_names_30d
    for col in named.values():
        seen += ibis.ifelse(t[f"{col}_30d"] > 0, 1, 0)
    out = {
        "as_of": ibis.literal(as_of, "date"),
        "account_id": t.account_id,
        **{c: t[c] for c in ("events_7d", "events_30d", "events_prev_30d", "events_90d")},
        "active_days_30d": bit_count(low & LAST_30_BITS).cast("int64"),
        "active_days_90d": (bit_count(low) + bit_count(high)).cast("int64"),
        "days_since_last_event": t.days_since_last_event,
        "distinct_events_30d": seen.cast("int64"),
    }
    for name in names:
        stem, col = event_column(name), named[name]
        out[f"{stem}_30d"] = t[f"{col}_30d"]
        out[f"{stem}_prev"] = t[f"{col}_prev"]
    out |= {c: t[c].fill_null(0) for c in ("active_users_7d", "active_users_30d")}
    return t.select(**out)
