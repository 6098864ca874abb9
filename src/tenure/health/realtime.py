"""Real-time health: inbox events → daily roll-ups and the refresh queue, in the events' transaction.

`tenure.events.service.record_events` calls `roll_up` and `queue_refresh` in the transaction that
stores the events (counters are upserted, so concurrent writers add up), and returns the touched
accounts. After its commit the caller hands them to the app's `ScoreRefresher`
(`tenure.health.refresher`), which recomputes their score for today from `rollup_usage`, stores
it and deletes their queue rows in one transaction, then publishes `tier_change` /
`score_drop` notifications. A crash between the two leaves the queue rows; the next refresher
picks them up when it starts.

Today's usage is the warehouse baseline the daily stage stored (`usage_base`, up to its day)
plus the roll-ups of later days. It is exact when the pipeline ran for yesterday; events with a
timestamp on or before the baseline's day that arrive later count from the next pipeline run.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, case, delete, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.db.bulk import dialect_insert, insert_ignoring_conflicts, upsert
from tenure.health.models import (
    HealthRefreshQueue,
    UsageBase,
    UsageDaily,
    UsageDailyFeature,
    UsageDailyUser,
)


def _later(new: Any, old: Any) -> Any:
    return case((old.is_(None) | (new > old), new), else_=old)


def roll_up(
    events: Iterable[Mapping[str, Any]], *, db_session: Session, login_events: Collection[str]
) -> set[int]:
    """Add events (account_id, name, ts, contact_external_id) to the daily roll-ups.

    Return the accounts whose roll-ups changed; login_events are the names counted as logins.
    """
    logins = set(login_events)
    days: dict[tuple[int, date], dict[str, Any]] = {}
    features, users = set(), set()
    for e in events:
        if e.get("account_id") is None:
            continue
        key, ts = (int(e["account_id"]), e["ts"].date()), e["ts"]
        entry = days.setdefault(key, {"events": 0, "logins": 0, "last": ts, "login": None})
        entry["events"] += 1
        entry["last"] = max(entry["last"], ts)
        if e["name"] in logins:
            entry["logins"] += 1
            entry["login"] = ts if entry["login"] is None else max(entry["login"], ts)
        features.add((*key, e["name"]))
        if e.get("contact_external_id"):
            users.add((*key, e["contact_external_id"]))
    if days:
        _upsert_days(db_session, days)
        _insert_sets(db_session, UsageDailyFeature, "feature", features)
        _insert_sets(db_session, UsageDailyUser, "user", users)
    return {account_id for account_id, _ in days}


def _upsert_days(db_session: Session, days: dict[tuple[int, date], dict[str, Any]]) -> None:
    rows = [
        {
            "account_id": account_id,
            "day": day,
            "events": v["events"],
            "logins": v["logins"],
            "last_event_at": v["last"],
            "last_login_at": v["login"],
        }
        for (account_id, day), v in sorted(days.items())
    ]
    statement = dialect_insert(db_session, UsageDaily.__table__)  # Core: no ORM bookkeeping
    table, new = UsageDaily.__table__.c, statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", "day"],
        set_={
            "events": table.events + new.events,
            "logins": table.logins + new.logins,
            "last_event_at": _later(new.last_event_at, table.last_event_at),
            "last_login_at": _later(new.last_login_at, table.last_login_at),
        },
    )
    db_session.execute(statement, rows)


def _insert_sets(db_session: Session, model: Any, column: str, keys: set[tuple]) -> None:
    if keys:
        account_ids, days, values = zip(*sorted(keys), strict=True)
        columns = {"account_id": account_ids, "day": days, column: values}
        insert_ignoring_conflicts(db_session.connection(), model.__table__, columns)


def rollup_usage(db_session: Session, day: date, ids: Collection[int]) -> pd.DataFrame:
    """Return usage as of day for accounts: the stored baseline plus later roll-ups."""
    ids = sorted(ids)
    base = {
        b.account_id: b
        for b in db_session.scalars(select(UsageBase).where(UsageBase.account_id.in_(ids)))
    }
    since = day - timedelta(days=59)
    daily = db_session.execute(
        select(UsageDaily).where(UsageDaily.account_id.in_(ids), UsageDaily.day.between(since, day))
    ).scalars()
    features = _sets(db_session, UsageDailyFeature, "feature", ids, since, day)
    users = _sets(db_session, UsageDailyUser, "user", ids, since, day)
    acc: dict[int, dict[str, Any]] = {a: _from_base(base.get(a), day) for a in ids}
    for row in daily:
        _add_day(acc[row.account_id], row, day, features, users)
    return pd.DataFrame(
        [
            {
                "account_id": a,
                "events_30d": v["recent"],
                "events_prev_30d": v["previous"],
                "features_30d": len(v["features"]),
                "users_30d": len(v["users"]),
                "last_login_at": v["login"],
            }
            for a, v in acc.items()
        ]
    )


def _sets(
    db_session: Session, model: Any, column: str, ids: list[int], since: date, day: date
) -> dict[tuple[int, date], set[str]]:
    out: dict[tuple[int, date], set[str]] = defaultdict(set)
    query = select(model.account_id, model.day, getattr(model, column)).where(
        model.account_id.in_(ids), model.day.between(since, day)
    )
    for account_id, when, value in db_session.execute(query):
        out[(account_id, when)].add(value)
    return out


def _from_base(base: UsageBase | None, day: date) -> dict[str, Any]:
    if base is None:
        return {
            "since": None,
            "recent": 0,
            "previous": 0,
            "features": set(),
            "users": set(),
            "login": None,
        }
    return {
        "since": base.base_day,
        "recent": base.events_recent,
        "previous": base.events_previous,
        "features": set(json.loads(base.features)),
        "users": set(json.loads(base.users)),
        "login": base.last_login_at,
    }


def _add_day(
    entry: dict[str, Any],
    row: UsageDaily,
    day: date,
    features: Mapping[tuple[int, date], set[str]],
    users: Mapping[tuple[int, date], set[str]],
) -> None:
    """Add one roll-up day that the baseline does not cover."""
    if entry["since"] is not None and row.day <= entry["since"]:
        return
    key = (row.account_id, row.day)
    if row.day > day - timedelta(days=30):
        entry["recent"] += row.events
        entry["features"] |= features.get(key, set())
        entry["users"] |= users.get(key, set())
    elif entry["since"] is None:
        entry["previous"] += row.events
    if row.last_login_at is not None and (
        entry["login"] is None or row.last_login_at > entry["login"]
    ):
        entry["login"] = row.last_login_at


def queue_refresh(*, db_session: Session, account_ids: Collection[int]) -> None:
    """Queue accounts for a refresh of today's score, durably with the caller's transaction."""
    if account_ids:
        now = clock.now()
        rows = [{"account_id": a, "queued_at": now} for a in sorted(account_ids)]
        db_session.execute(
            upsert(
                db_session, HealthRefreshQueue.__table__, keys=["account_id"], update=["queued_at"]
            ),
            rows,
        )


def queued_accounts(*, db_session: Session) -> list[int]:
    """Return every account waiting for a refresh (what a crash or a stop left behind)."""
    return list(db_session.scalars(select(HealthRefreshQueue.account_id)))


def queue_marks(*, db_session: Session, account_ids: Collection[int]) -> dict[int, datetime]:
    """Return when each of these accounts was last queued (read before their usage)."""
    query = select(HealthRefreshQueue.account_id, HealthRefreshQueue.queued_at).where(
        HealthRefreshQueue.account_id.in_(sorted(account_ids))
    )
    return dict(db_session.execute(query).all())


def dequeue(*, db_session: Session, marks: Mapping[int, datetime]) -> None:
    """Delete the queue rows a refresh covered; rows queued again since marks stay."""
    if marks:
        queue = HealthRefreshQueue.__table__.c
        statement = delete(HealthRefreshQueue.__table__).where(
            queue.account_id == bindparam("a"), queue.queued_at <= bindparam("t")
        )
        db_session.execute(statement, [{"a": a, "t": t} for a, t in sorted(marks.items())])
