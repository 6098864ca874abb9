"""Streaks, challenges and contact scores, set-based: one DuckDB query each over the events.

- A **streak** is a run of consecutive active ISO weeks (Monday first): weeks in which a member
  account sent at least `streak.min_events` events (of `streak.events`, or of any name). The
  runs are gaps-and-islands in SQL (week minus 7 × its row number is constant along a run).
  The current streak is the run that ends in the as-of week or the week before (the as-of week
  is still under way); the longest is over the last `lookback_weeks`.
- A **challenge** counts the member's events of its names between `starts_on` and `ends_on`
  (inclusive, never past the as-of day), or the distinct names among them; it completes at the
  event that reaches the goal.
- A **contact score** is the rule points of a contact's events over the leaderboard window
  (earning caps and cool-downs are the account wallet's business, not the ranking's).

Only events before the day after `as_of` are read, so a back-fill sees what existed then.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pyarrow as pa

from tenure.loyalty.event_earning import rules_table
from tenure.loyalty.program import Challenge, Program
from tenure.warehouse.catalog import EVENTS

CHALLENGE_GRACE_DAYS = 7  # an ended challenge is recounted this long (late events)

# Weeks are whole weeks since Monday 1969-12-29 (integers: cheaper than truncating timestamps).
WEEK_US = 7 * 86_400_000_000
MONDAY_BEFORE_EPOCH_US = 3 * 86_400_000_000
FIRST_MONDAY = date(1969, 12, 29)

STREAK_SQL = f"""
WITH weekly AS (
    SELECT e.account_id, (epoch_us(e.ts) + {MONDAY_BEFORE_EPOCH_US}) // {WEEK_US} AS week
    FROM {EVENTS} e JOIN loyalty_members m ON m.account_id = e.account_id
    WHERE e.ts >= $start AND e.ts < $end
      AND ($any_event OR e.name IN (SELECT name FROM streak_events))
    GROUP BY 1, 2
    HAVING count(*) >= $min_events
), runs AS (
    SELECT account_id, count(*) AS weeks, max(week) AS last_week
    FROM (SELECT account_id, week,
                 week - row_number() OVER (PARTITION BY account_id ORDER BY week) AS island
          FROM weekly)
    GROUP BY account_id, island
)
SELECT account_id,
       CAST(max(CASE WHEN last_week >= $previous_week THEN weeks ELSE 0 END) AS INTEGER)
           AS current_weeks,
       CAST(max(weeks) AS INTEGER) AS longest_weeks,
       DATE '{FIRST_MONDAY}' + CAST(7 * max(last_week) AS INTEGER) AS last_active_week
FROM runs GROUP BY account_id
ORDER BY account_id
"""

# Distinct challenges count each name's first event; the goal-th instant (ties share a
# timestamp, so ordering by it alone is exact) completes the challenge.
CHALLENGE_SQL = f"""
WITH hits AS (
    SELECT c.challenge, e.account_id, e.name, e.ts, c.goal, c.is_distinct
    FROM {EVENTS} e
    JOIN loyalty_members m ON m.account_id = e.account_id
    JOIN challenge_events c ON c.event = e.name AND e.ts >= c.start_at AND e.ts < c.end_at
    WHERE e.ts >= $start AND e.ts < $end
), counted AS (
    SELECT challenge, account_id, ts, goal FROM hits WHERE NOT is_distinct
    UNION ALL
    SELECT challenge, account_id, min(ts), any_value(goal) FROM hits WHERE is_distinct
    GROUP BY challenge, account_id, name
)
SELECT challenge, account_id, CAST(least(count(*), max(goal)) AS INTEGER) AS progress,
       CAST(max(goal) AS INTEGER) AS goal,
       CASE WHEN count(*) >= max(goal) THEN list(ts ORDER BY ts)[max(goal)] END AS completed_at
FROM counted GROUP BY challenge, account_id
ORDER BY challenge, account_id
"""

CONTACT_SQL = f"""
SELECT e.account_id, e.contact_external_id AS contact, CAST(sum(r.points) AS BIGINT) AS points,
       CAST(count(*) AS INTEGER) AS events
FROM {EVENTS} e
JOIN loyalty_members m ON m.account_id = e.account_id
JOIN loyalty_rules r ON r.event = e.name
WHERE e.ts >= $start AND e.ts < $end AND e.contact_external_id IS NOT NULL
GROUP BY 1, 2
"""


def day_start(day: date) -> datetime:
    """Return midnight UTC at the start of day."""
    return datetime.combine(day, time(), tzinfo=UTC)


def week_of(day: date) -> date:
    """Return the Monday of day's ISO week."""
    return day - timedelta(days=day.weekday())


def _query(con: Any, sql: str, params: dict[str, Any], tables: dict[str, pa.Table]) -> list[dict]:
    """Run sql with the Arrow tables registered under their names; return the rows."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(sql, params).to_arrow_table().to_pylist()
    finally:
        for name in tables:
            con.unregister(name)


def _members_table(members: list[int]) -> pa.Table:
    return pa.table({"account_id": pa.array(members, pa.int64())})


def streaks(con: Any, program: Program, members: list[int], as_of: date) -> list[dict[str, Any]]:
    """Return each member's current and longest streak of active weeks as of as_of."""
    rule = program.streak
    this_week = week_of(as_of)
    params = {
        "start": day_start(this_week - timedelta(weeks=rule.lookback_weeks - 1)),
        "end": day_start(as_of + timedelta(days=1)),
        "previous_week": (this_week - FIRST_MONDAY).days // 7 - 1,
        "min_events": rule.min_events,
        "any_event": not rule.events,
    }
    names = pa.table({"name": pa.array(rule.events, pa.string())})
    tables = {"loyalty_members": _members_table(members), "streak_events": names}
    return _query(con, STREAK_SQL, params, tables)


def open_challenges(program: Program, as_of: date) -> list[Challenge]:
    """Return the challenges started by as_of and not ended more than the grace before it."""
    grace = as_of - timedelta(days=CHALLENGE_GRACE_DAYS)
    return [c for c in program.challenges if c.starts_on <= as_of and c.ends_on >= grace]


def _challenge_table(challenges: list[Challenge], as_of: date) -> pa.Table:
    rows = [(c, name) for c in challenges for name in sorted(set(c.events))]
    last = [day_start(min(c.ends_on, as_of) + timedelta(days=1)) for c, _ in rows]
    return pa.table({
        "challenge": pa.array([c.key for c, _ in rows], pa.string()),
        "event": pa.array([name for _, name in rows], pa.string()),
        "start_at": pa.array([day_start(c.starts_on) for c, _ in rows], pa.timestamp("us", "UTC")),
        "end_at": pa.array(last, pa.timestamp("us", "UTC")),
        "goal": pa.array([c.count for c, _ in rows], pa.int64()),
        "is_distinct": pa.array([c.distinct for c, _ in rows], pa.bool_()),
    })  # fmt: skip


def challenge_progress(
    con: Any, challenges: list[Challenge], members: list[int], as_of: date
) -> list[dict[str, Any]]:
    """Return (challenge, account, progress, goal, completed_at) for members with progress."""
    if not challenges or not members:
        return []
    table = _challenge_table(challenges, as_of)
    params = {
        "start": day_start(min(c.starts_on for c in challenges)),
        "end": day_start(min(max(c.ends_on for c in challenges), as_of) + timedelta(days=1)),
    }
    tables = {"loyalty_members": _members_table(members), "challenge_events": table}
    return _query(con, CHALLENGE_SQL, params, tables)


def contact_scores(
    con: Any, program: Program, members: list[int], as_of: date
) -> list[dict[str, Any]]:
    """Return (account, contact external id, points, events) over the leaderboard window."""
    rules = [r for r in program.rules if r.event is not None]
    if not rules or not members:
        return []
    end = as_of + timedelta(days=1)
    params = {
        "start": day_start(end - timedelta(days=program.leaderboard.window_days)),
        "end": day_start(end),
    }
    tables = {"loyalty_members": _members_table(members), "loyalty_rules": rules_table(rules)}
    return _query(con, CONTACT_SQL, params, tables)
