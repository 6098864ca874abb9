"""Earning, set-based: one DuckDB query per day turns the day's events into earnings.

For day D the query reads the warehouse events in [D, D + 1 day) of member accounts, joins
them to the event rules and to each (account, rule)'s history from the ledger (earnings so far,
in D's month, and the last one), and keeps, per account and rule, in event order:

- with a cool-down of N ≥ 1 days: the first event at least N days after the last earning
  (processing day by day makes this exactly the greedy "earn, then wait N days" rule, because
  a cool-down of a day or more admits at most one earning per day);
- without one: the first k events, k what the lifetime cap (`first_time_only` is a cap of 1)
  and the monthly cap leave.

Fact rules (seats, MRR, tenure, health score) compare each member's fact on D with the rule's
level in the app DB. Every earning carries a source key (`event:<message_id>:<rule>` or
`fact:<rule>:<account>[:<day>]`), so posting a day twice changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Subscription
from tenure.accounts.mrr import in_force, instant_after
from tenure.health.models import HealthScore
from tenure.loyalty.ledger import Earning
from tenure.loyalty.models import LoyaltyMovement
from tenure.loyalty.program import EarningRule, Program
from tenure.warehouse.catalog import EVENTS

EARNING_SQL = f"""
WITH day_events AS (
    SELECT e.message_id, e.account_id, e.name, e.ts
    FROM {EVENTS} e JOIN loyalty_members m ON m.account_id = e.account_id
    WHERE e.ts >= $start AND e.ts < $end
), candidates AS (
    SELECT d.message_id, d.account_id, d.ts, r.rule, r.points, r.cooldown_days,
           r.cap_total, r.cap_month,
           coalesce(p.n_total, 0) AS n_total, coalesce(p.n_month, 0) AS n_month
    FROM day_events d
    JOIN loyalty_rules r ON r.event = d.name
    LEFT JOIN loyalty_history p ON p.account_id = d.account_id AND p.rule = r.rule
    WHERE r.cooldown_days = 0 OR p.last_at IS NULL
       OR d.ts >= p.last_at + to_days(CAST(r.cooldown_days AS INTEGER))
), ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY account_id, rule ORDER BY ts, message_id) AS nth
    FROM candidates
)
SELECT account_id, rule, points, message_id, ts
FROM ranked
WHERE (cooldown_days = 0 OR nth = 1)
  AND (cap_total IS NULL OR n_total + nth <= cap_total)
  AND (cap_month IS NULL OR n_month + nth <= cap_month)
ORDER BY ts, message_id, rule
"""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def rules_table(rules: list[EarningRule]) -> pa.Table:
    """Return the event rules as an Arrow table for the query."""
    return pa.table({
        "rule": pa.array([r.key for r in rules], pa.string()),
        "event": pa.array([r.event for r in rules], pa.string()),
        "points": pa.array([r.points for r in rules], pa.int64()),
        "cooldown_days": pa.array([r.cooldown_days for r in rules], pa.int32()),
        "cap_total": pa.array([r.lifetime_cap for r in rules], pa.int64()),
        "cap_month": pa.array([r.max_per_month for r in rules], pa.int64()),
    })  # fmt: skip


def rule_history(session: Session, rules: list[str], day: date) -> dict[str, list[Any]]:
    """Return per (account, rule) earned so far: total, in day's month, and the last time."""
    month_start = _day_start(day.replace(day=1))
    in_month = sa.case((LoyaltyMovement.occurred_at >= month_start, 1), else_=0)
    query = (
        sa.select(LoyaltyMovement.account_id, LoyaltyMovement.rule, sa.func.count(),
                  sa.func.sum(in_month), sa.func.max(LoyaltyMovement.occurred_at))
        .where(LoyaltyMovement.kind == "earn", LoyaltyMovement.rule.in_(rules),
               LoyaltyMovement.occurred_at < _day_start(day))
        .group_by(LoyaltyMovement.account_id, LoyaltyMovement.rule)
    )  # fmt: skip
    columns: dict[str, list[Any]] = {
        k: [] for k in ("account_id", "rule", "n_total", "n_month", "last_at")
    }
    for row in session.execute(query):
        for key, value in zip(columns, row, strict=True):
            columns[key].append(value)
    return columns


def _history_table(columns: dict[str, list[Any]]) -> pa.Table:
    return pa.table({
        "account_id": pa.array(columns["account_id"], pa.int64()),
        "rule": pa.array(columns["rule"], pa.string()),
        "n_total": pa.array(columns["n_total"], pa.int64()),
        "n_month": pa.array([int(n or 0) for n in columns["n_month"]], pa.int64()),
        "last_at": pa.array(columns["last_at"], pa.timestamp("us", tz="UTC")),
    })  # fmt: skip


def event_earnings(
    con: Any, session: Session, program: Program, members: list[int], day: date
) -> list[Earning]:
    """Return the day's event earnings of member accounts (DuckDB over the events table)."""
    rules = [r for r in program.rules if r.event is not None]
    if not rules or not members:
        return []
    history = rule_history(session, [r.key for r in rules], day)
    con.register("loyalty_rules", rules_table(rules))
    con.register("loyalty_history", _history_table(history))
    con.register("loyalty_members", pa.table({"account_id": pa.array(members, pa.int64())}))
    try:
        params = {"start": _day_start(day), "end": _day_start(day + timedelta(days=1))}
        found = con.execute(EARNING_SQL, params).to_arrow_table().to_pylist()
    finally:
        for name in ("loyalty_rules", "loyalty_history", "loyalty_members"):
            con.unregister(name)
    return [
        Earning(r["account_id"], r["rule"], r["points"], f"event:{r['message_id']}:{r['rule']}",
                r["ts"].astimezone(UTC))
        for r in found
    ]  # fmt: skip


def account_facts(session: Session, fact: str, members: list[int], day: date) -> dict[int, float]:
    """Return each member's value of a fact on day (seats, mrr, tenure_days, health_score)."""
    instant = instant_after(day)
    if fact in ("seats", "mrr"):
        column = Subscription.quantity if fact == "seats" else Subscription.mrr
        query = (
            sa.select(Subscription.account_id, sa.func.sum(column))
            .where(in_force(Subscription.started_at, Subscription.ended_at, instant))
            .group_by(Subscription.account_id)
        )
    elif fact == "tenure_days":
        query = sa.select(Account.id, Account.created_at).where(Account.created_at < instant)
        return {a: (instant - at).days for a, at in session.execute(query) if a in set(members)}
    else:
        latest = (
            sa.select(HealthScore.account_id, sa.func.max(HealthScore.as_of).label("day"))
            .where(HealthScore.as_of <= day)
            .group_by(HealthScore.account_id)
            .subquery()
        )
        query = (
            sa.select(HealthScore.account_id, sa.func.max(HealthScore.score))
            .join(
                latest,
                (latest.c.account_id == HealthScore.account_id)
                & (latest.c.day == HealthScore.as_of),
            )
            .group_by(HealthScore.account_id)
        )
    wanted = set(members)
    return {a: float(v) for a, v in session.execute(query) if a in wanted and v is not None}
