"""Churn labels: did an account paying at the as-of stop paying within the horizon?

A churn is the end of a paying subscription row that no other paying row of the account
covers (a seat change ends one row and starts the next at the same instant, so it is not a
churn). The label of (D, account) is 1 when such an end falls in [T, T + horizon) with
T = D + 1 day 00:00 UTC, i.e. on days D+1 … D+horizon. Labels look forward by design; they are
only used for training and validation, and only for as-of days whose window is complete.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from tenure.errors import InputError

HORIZONS = (30, 90)


def churn_events(subscriptions: ir.Table) -> ir.Table:
    """Return account_id, churned_at: every paying-row end not covered by another paying row."""
    paying = subscriptions.filter(subscriptions.mrr > 0)
    ends = paying.filter(paying.ended_at.notnull()).select("account_id", churned_at="ended_at")
    other = paying.view()
    covered = [
        ends.account_id == other.account_id,
        other.started_at <= ends.churned_at,
        other.ended_at.isnull() | (other.ended_at > ends.churned_at),
    ]
    return ends.anti_join(other, covered).distinct()


def label_table(keys: ir.Table, subscriptions: ir.Table, horizon: int) -> ir.Table:
    """Return as_of, account_id, churned (0/1) for each (as_of, account_id) row of keys."""
    events = churn_events(subscriptions)
    cutoff = (keys.as_of + ibis.interval(days=1)).cast("timestamp")
    k = keys.select("as_of", "account_id", cutoff=cutoff)
    hit = k.join(
        events,
        [
            k.account_id == events.account_id,
            events.churned_at >= k.cutoff,
            events.churned_at < k.cutoff + ibis.interval(days=horizon),
        ],
    )
    churned = hit.select("as_of", "account_id").distinct().mutate(churned=ibis.literal(1))
    out = k.left_join(churned, [k.as_of == churned.as_of, k.account_id == churned.account_id])
    return out.select("as_of", "account_id", churned=out.churned.fill_null(0).cast("int8"))


def label_complete(as_of: date, horizon: int, data_end: date) -> bool:
    """Return True when days as_of+1 … as_of+horizon are all on or before the last data day."""
    return as_of + timedelta(days=horizon) <= data_end


def check_horizon(horizon: int) -> int:
    """Return the horizon if supported, else raise InputError."""
    if horizon not in HORIZONS:
        raise InputError(f"--horizon must be one of {', '.join(map(str, HORIZONS))} days")
    return horizon
