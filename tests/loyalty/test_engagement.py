"""Streaks and challenges in SQL, checked against plain-Python counts of the same events."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from tenure.loyalty import engagement
from tenure.loyalty.program import Challenge, Program, parse_program
from tenure.warehouse.catalog import EVENTS, EVENTS_DDL

BASE = {
    "name": "t", "point_value_minor": 1, "approval_threshold": 100,
    "rules": [{"key": "login", "event": "login", "points": 10},
              {"key": "share", "event": "share", "points": 25}],
    "tiers": [{"key": "member", "name": "Member", "qualifying_points": 0}],
}  # fmt: skip


def _program(**extra) -> Program:
    return parse_program({**BASE, **extra}, "test")


@pytest.fixture
def con():
    """An in-memory warehouse with the events table."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(EVENTS_DDL)
    yield connection
    connection.close()


def _add(con, rows) -> None:
    """Insert (message_id, account, name, ts, contact) events."""
    for message_id, account, name, ts, contact in rows:
        con.execute(
            f"INSERT INTO {EVENTS} VALUES (?, ?, ?, ?, ?, ?, NULL, 't', ?, NULL)",
            [message_id, account, f"a{account}", contact, name, ts, ts],
        )


def _reference_streak(active: set[date], as_of: date, lookback: int) -> tuple[int, int]:
    """Return (current, longest) streak of active Mondays, by walking the weeks one by one."""
    this_week = engagement.week_of(as_of)
    weeks = [this_week - timedelta(weeks=i) for i in range(lookback)][::-1]
    longest = run = 0
    for week in weeks:
        run = run + 1 if week in active else 0
        longest = max(longest, run)
    current = 0
    start = this_week if this_week in active else this_week - timedelta(weeks=1)
    while start in active and start >= weeks[0]:
        current, start = current + 1, start - timedelta(weeks=1)
    return current, longest


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_streaks_match_a_week_by_week_walk(con, seed):
    rng = random.Random(seed)
    as_of = date(2025, 6, 11)  # a Wednesday: the week is under way
    program = _program(streak={"min_events": 2, "lookback_weeks": 20})
    rows, expected = [], {}
    for account in range(1, 9):
        active = set()
        for back in range(26):  # events before the look-back must not count
            week = engagement.week_of(as_of) - timedelta(weeks=back)
            n = rng.choice([0, 1, 2, 3]) if rng.random() < 0.8 else 0
            for k in range(n):
                ts = datetime.combine(week, datetime.min.time(), UTC) + timedelta(days=k, hours=9)
                if ts.date() <= as_of:
                    rows.append((f"{account}-{back}-{k}", account, "login", ts, None))
            if (
                sum(1 for r in rows if r[1] == account and engagement.week_of(r[3].date()) == week)
                >= 2
            ):
                active.add(week)
        rows.append((f"{account}-late", account, "login", datetime(2025, 6, 12, tzinfo=UTC), None))
        expected[account] = _reference_streak(active, as_of, 20)
    _add(con, rows)
    found = engagement.streaks(con, program, list(range(1, 9)), as_of)
    got = {r["account_id"]: (r["current_weeks"], r["longest_weeks"]) for r in found}
    assert got == {a: e for a, e in expected.items() if e != (0, 0)}


def test_streak_counts_only_listed_events(con):
    program = _program(streak={"min_events": 1, "events": ["share"]})
    monday = date(2025, 6, 2)
    rows = [(f"l{i}", 1, "login", datetime(2025, 6, 2, tzinfo=UTC) - timedelta(weeks=i), None)
            for i in range(4)]  # fmt: skip
    rows += [("s0", 1, "share", datetime(2025, 6, 3, tzinfo=UTC), None)]
    _add(con, rows)
    [row] = engagement.streaks(con, program, [1], monday + timedelta(days=2))
    assert (row["current_weeks"], row["longest_weeks"]) == (1, 1)


def _challenge(**fields) -> Challenge:
    base = {"key": "c", "name": "C", "starts_on": date(2025, 6, 2), "ends_on": date(2025, 6, 8),
            "events": ["login", "share", "export"], "count": 2}  # fmt: skip
    return Challenge.model_validate({**base, **fields})


def test_challenges_count_in_the_window_and_complete_at_the_goal(con):
    at = lambda d, h: datetime(2025, 6, d, h, tzinfo=UTC)  # noqa: E731
    _add(con, [
        ("x0", 1, "login", at(1, 23), None),  # before the start
        ("x1", 1, "login", at(2, 9), None), ("x2", 1, "login", at(3, 9), None),
        ("x3", 1, "share", at(4, 9), None), ("x4", 1, "login", at(9, 9), None),  # after the end
        ("y1", 2, "login", at(5, 9), None), ("y2", 2, "other", at(5, 10), None),
        ("z1", 3, "share", at(7, 9), None),  # not a member
    ])  # fmt: skip
    plain, distinct = _challenge(key="plain"), _challenge(key="dist", distinct=True, count=3)
    found = engagement.challenge_progress(con, [plain, distinct], [1, 2], date(2025, 6, 30))
    got = {(r["challenge"], r["account_id"]): (r["progress"], r["completed_at"]) for r in found}
    assert got == {
        ("plain", 1): (2, at(3, 9)),  # the second event reaches the goal of 2
        ("plain", 2): (1, None),
        ("dist", 1): (2, None),  # login and share: two of three names
        ("dist", 2): (1, None),
    }
    early = engagement.challenge_progress(con, [plain], [1], date(2025, 6, 2))
    assert [(r["progress"], r["completed_at"]) for r in early] == [(1, None)]  # no future events


def test_open_challenges_skip_future_and_long_ended_ones():
    program = _program(challenges=[
        {"key": "past", "name": "P", "starts_on": "2025-01-01", "ends_on": "2025-01-31",
         "events": ["login"], "count": 1},
        {"key": "now", "name": "N", "starts_on": "2025-06-01", "ends_on": "2025-06-30",
         "events": ["login"], "count": 1},
        {"key": "later", "name": "L", "starts_on": "2025-07-01", "ends_on": "2025-07-31",
         "events": ["login"], "count": 1},
    ])  # fmt: skip
    assert [c.key for c in engagement.open_challenges(program, date(2025, 6, 15))] == ["now"]


def test_contact_scores_sum_rule_points_per_contact_in_the_window(con):
    program = _program(leaderboard={"window_days": 7})
    at = lambda d: datetime(2025, 6, d, 9, tzinfo=UTC)  # noqa: E731
    _add(con, [
        ("a", 1, "login", at(10), "ann"), ("b", 1, "share", at(11), "ann"),
        ("c", 1, "login", at(12), "bob"), ("d", 1, "login", at(3), "bob"),  # before the window
        ("e", 1, "nothing", at(12), "bob"), ("f", 1, "login", at(12), None),
    ])  # fmt: skip
    found = engagement.contact_scores(con, program, [1], date(2025, 6, 12))
    got = {r["contact"]: (r["points"], r["events"]) for r in found}
    assert got == {"ann": (35, 2), "bob": (10, 1)}


def test_programme_rejects_a_badge_for_an_unknown_challenge():
    with pytest.raises(Exception, match="unknown challenge"):
        _program(badges=[{"key": "b", "name": "B", "challenge": "nope"}])
