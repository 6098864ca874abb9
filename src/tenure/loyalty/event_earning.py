"""Event earning over a window of days, set-based: one read of the events plus array work.

For the window [first, last] the stage reads the member events the event rules match once
(`earning_sql.MATCH_SQL`), after a cheap count that flags the (account, rule) pairs a cap may
bind for (`FLAG_SQL`):

- rules without a cool-down: every event earns unless a cap stops it. Unflagged pairs keep all
  their events; only the flagged pairs' events are ranked (`CAPPED_SQL`): a monthly cap keeps
  the first k events of each (account, rule, month) (k what the month leaves after the
  earnings before the window), then a lifetime cap (`first_time_only` is a cap of 1) the first
  k of what is left (window functions in DuckDB);
- rules with a cool-down of N ≥ 1 days: the greedy "earn, then wait N days" (and, when a
  monthly cap is full, wait for the next month) over the events sorted by (account, rule,
  time, then message id: the first of equal times earns), walked as arrays
  (`tenure.loyalty.cooldown`).

Each (account, rule)'s state before the window (earnings so far, in the first month, the last
one) comes from the ledger once per window, so the cost no longer grows with the days.
Earnings come back as one Arrow table with their source keys (`event:<message_id>:<rule>`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from tenure.loyalty.cooldown import (
    NO_CAP,
    US_PER_DAY,
    CoolEvents,
    chain_order,
    first_at_or_after,
    walk_chains,
)
from tenure.loyalty.earning import rule_history
from tenure.loyalty.earning_sql import CAPPED_SQL, FLAG_TEMPLATE, MATCH_TEMPLATE
from tenure.loyalty.program import EarningRule, Program
from tenure.warehouse.catalog import EVENTS

SCHEMA = pa.schema([("account_id", pa.int64()), ("rule", pa.string()), ("points", pa.int64()),
                    ("message_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC"))])  # fmt: skip
COLUMNS = tuple(SCHEMA.names)


def day_start(day: date) -> datetime:
    """Return midnight UTC at the start of day."""
    return datetime.combine(day, time(), tzinfo=UTC)


def rules_table(rules: list[EarningRule]) -> pa.Table:
    """Return the event rules as an Arrow table for the queries (idx numbers them)."""
    return pa.table({
        "idx": pa.array(range(len(rules)), pa.int64()),
        "rule": pa.array([r.key for r in rules], pa.string()),
        "event": pa.array([r.event for r in rules], pa.string()),
        "points": pa.array([r.points for r in rules], pa.int64()),
        "cooldown_days": pa.array([r.cooldown_days for r in rules], pa.int32()),
        "cap_total": pa.array([r.lifetime_cap for r in rules], pa.int64()),
        "cap_month": pa.array([r.max_per_month for r in rules], pa.int64()),
    })  # fmt: skip


def history_table(session: Session, rules: list[EarningRule], first: date) -> pa.Table:
    """Return each (account, rule)'s earnings before first: total, in first's month, last."""
    return history_arrow(rule_history(session, [r.key for r in rules], first))


def history_arrow(columns: dict[str, list[Any]]) -> pa.Table:
    """Return rule history columns (account_id, rule, n_total, n_month, last_at) as Arrow."""
    return pa.table({
        "account_id": pa.array(columns["account_id"], pa.int64()),
        "rule": pa.array(columns["rule"], pa.string()),
        "n_total": pa.array(columns["n_total"], pa.int64()),
        "n_month": pa.array([int(n or 0) for n in columns["n_month"]], pa.int64()),
        "last_at": pa.array(columns["last_at"], pa.timestamp("us", tz="UTC")),
    })  # fmt: skip


def window_earnings(
    con: Any, session: Session, program: Program, members: list[int], first: date, last: date
) -> pa.Table:
    """Return the event earnings of member accounts on the days first..last (inclusive)."""
    rules = [r for r in program.rules if r.event is not None and r.to_account]
    if not rules or not members or last < first:
        return _with_source_keys(SCHEMA.empty_table())
    history = history_table(session, rules, first)
    return earnings_of(con, rules, history, members, (first, last), EVENTS)


def earnings_of(
    con: Any, rules: list[EarningRule], history: pa.Table, members: list[int],
    window: tuple[date, date], events: str,
) -> pa.Table:  # fmt: skip
    """Return the earnings of the rules over a window of the events relation (any wallet owner).

    `events` is a relation with message_id, account_id (the wallet's owner), name and ts;
    `history` the owners' earnings before the window; `members` the owners that may earn.
    """
    first, last = window
    tables = {"loyalty_rules": rules_table(rules), "loyalty_history": history,
              "loyalty_members": pa.table({"account_id": pa.array(members, pa.int64())})}  # fmt: skip
    params = {"start": day_start(first), "end": day_start(last + timedelta(days=1))}
    month = {"first_month": datetime(first.year, first.month, 1)}
    for name, table in tables.items():
        con.register(name, table)
    try:
        flag_sql, match_sql = (t.format(events=events) for t in (FLAG_TEMPLATE, MATCH_TEMPLATE))
        tables["loyalty_flagged"] = con.execute(flag_sql, {**params, **month}).to_arrow_table()
        con.register("loyalty_flagged", tables["loyalty_flagged"])
        found = con.execute(match_sql, params).to_arrow_table()
        cool, flagged = found["cool"].to_numpy(), found["flagged"].to_numpy()
        parts = [_earnings(rules, found.filter(pa.array(~cool & ~flagged)))]
        tables["loyalty_capped_events"] = found.filter(pa.array(flagged))
        con.register("loyalty_capped_events", tables["loyalty_capped_events"])
        parts.append(_earnings(rules, con.execute(CAPPED_SQL, month).to_arrow_table()))
        if cool.any():
            parts.append(_cooldown_earnings(found.filter(pa.array(cool)), rules, history, first))
    finally:
        for name in tables:
            con.unregister(name)
    return _with_source_keys(pa.concat_tables(parts))


def _earnings(rules: list[EarningRule], found: pa.Table) -> pa.Table:
    """Return matched events (account_id, rule_idx, message_id, ts_us) as earnings (SCHEMA)."""
    rule_idx = found["rule_idx"].cast(pa.int64())
    return pa.table({
        "account_id": found["account_id"].cast(pa.int64()),
        "rule": pc.take(pa.array([r.key for r in rules], pa.string()), rule_idx),
        "points": pc.take(pa.array([r.points for r in rules], pa.int64()), rule_idx),
        "message_id": found["message_id"],
        "ts": found["ts_us"].cast(pa.int64()).cast(pa.timestamp("us", tz="UTC")),
    }, schema=SCHEMA)  # fmt: skip


def _with_source_keys(table: pa.Table) -> pa.Table:
    """Add the earnings' source keys (`event:<message_id>:<rule>`)."""
    keys = pc.binary_join_element_wise("event", table["message_id"], table["rule"], ":")
    return table.append_column("source_key", keys)


def _month_numbers(ts_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the UTC month number of each time and the start (µs) of the month after it."""
    month = ts_us.astype("datetime64[us]").astype("datetime64[M]")
    following = (month + 1).astype("datetime64[us]").astype(np.int64)
    return month.astype(np.int64), following


def _cooldown_earnings(found: pa.Table, rules, history: pa.Table, first: date) -> pa.Table:
    """Return the earnings of cool-down rules (greedy chains) among the matched events."""
    found = found.select(["account_id", "rule_idx", "message_id", "ts_us"]).combine_chunks()
    message_ids = found["message_id"].chunk(0) if found.num_rows else pa.array([], pa.string())
    account = found["account_id"].to_numpy().astype(np.int64)
    rule_idx = found["rule_idx"].to_numpy().astype(np.int64)
    ts = found["ts_us"].to_numpy().astype(np.int64)
    order = chain_order(account * len(rules) + rule_idx, ts, message_ids)
    account, rule_idx, ts = account[order], rule_idx[order], ts[order]
    change = np.ones(len(ts), dtype=bool)
    change[1:] = (account[1:] != account[:-1]) | (rule_idx[1:] != rule_idx[:-1])
    month, next_month = _month_numbers(ts)
    cooldown = np.array([r.cooldown_days * US_PER_DAY for r in rules], dtype=np.int64)
    events = CoolEvents(np.cumsum(change) - 1, ts, month, cooldown[rule_idx], next_month)
    heads = np.flatnonzero(change)
    starts, prior_total, prior_month = _chain_starts(
        events, heads, account[heads], rule_idx[heads], rules, history, first
    )
    caps = [(r.lifetime_cap or NO_CAP, r.max_per_month or NO_CAP) for r in rules]
    cap_total = np.array([c[0] for c in caps], dtype=np.int64)[rule_idx]
    cap_month = np.array([c[1] for c in caps], dtype=np.int64)[rule_idx]
    chosen = walk_chains(events, starts, prior_total, prior_month, cap_total, cap_month)
    rows = order[chosen]
    return _earnings(rules, found.take(rows))


def _prior_state(history: pa.Table, rules, account: np.ndarray, rule_idx: np.ndarray):
    """Return per (account, rule) pair its earnings before the window: total, month, last."""
    index = {r.key: i for i, r in enumerate(rules)}
    n_rules = len(rules)
    h_rule = np.array([index.get(k, -1) for k in history["rule"].to_pylist()], dtype=np.int64)
    h_key = history["account_id"].to_numpy().astype(np.int64) * n_rules + h_rule
    order = np.argsort(h_key)
    h_key = h_key[order]
    wanted = account * n_rules + rule_idx
    pos = np.minimum(np.searchsorted(h_key, wanted), max(len(h_key) - 1, 0))
    has = (h_key[pos] == wanted) if len(h_key) else np.zeros(len(wanted), dtype=bool)

    def pick(column: str, default: int) -> np.ndarray:
        values = history[column].to_numpy().astype(np.int64)[order] if len(h_key) else None
        return np.where(has, values[pos], default) if values is not None else np.full(
            len(wanted), default, dtype=np.int64)  # fmt: skip

    return has, pick("n_total", 0), pick("n_month", 0), pick("last_at", 0)


def _chain_starts(events: CoolEvents, heads, account, rule_idx, rules, history, first: date):
    """Return each pair's first eligible event and what it had earned before the window."""
    has, n_total, n_month, last_us = _prior_state(history, rules, account, rule_idx)
    due = np.where(has, last_us + events.cooldown_us[heads], events.ts[heads])
    cap_total = np.array([r.lifetime_cap or NO_CAP for r in rules], dtype=np.int64)[rule_idx]
    cap_month = np.array([r.max_per_month or NO_CAP for r in rules], dtype=np.int64)[rule_idx]
    first_month = np.datetime64(first.replace(day=1), "M")
    next_month_us = (first_month + 1).astype("datetime64[us]").astype(np.int64)
    due = np.where(n_month >= cap_month, np.maximum(due, next_month_us), due)
    start = first_at_or_after(events, events.group[heads], due)
    ok = (n_total < cap_total) & (start >= 0)
    starts = start[ok]
    in_first_month = events.month[starts] == first_month.astype(np.int64)
    return starts, n_total[ok], np.where(in_first_month, n_month[ok], 0)
