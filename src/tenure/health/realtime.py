"""Real-time health: inbox events → daily roll-ups → today's score for the touched accounts.

`record_events` calls `roll_up` in its own transaction (counters are upserted, so concurrent
writers add up). When that transaction commits, the touched accounts go to this process's
`ScoreRefresher` for the engine: a background thread that coalesces pending accounts and
recomputes their score for today in one go, upserts today's `health_score` rows and publishes
`tier_change` / `score_drop` notifications after its own commit.

Today's usage is the warehouse baseline the daily stage stored (`usage_base`, up to its day)
plus the roll-ups of later days. It is exact when the pipeline ran for yesterday; events with a
timestamp on or before the baseline's day that arrive later count from the next pipeline run.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, case, event, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.config import Settings, get_settings
from tenure.db.bulk import dialect_insert
from tenure.db.session import session_scope
from tenure.health import service
from tenure.health.flows import score_day
from tenure.health.models import UsageBase, UsageDaily, UsageDailyFeature, UsageDailyUser
from tenure.logging import get_logger
from tenure.notifications import get_bus

log = get_logger("health.realtime")
TOUCHED = "tenure.health.touched"
IDLE_SECONDS = 30.0  # a refresher with nothing to do for this long stops its thread
POPULATION_KINDS = ("login_recency", "seat_utilisation", "support_load", "churn_probability")


def _later(new: Any, old: Any) -> Any:
    return case((old.is_(None) | (new > old), new), else_=old)


def roll_up(db_session: Session, events: Iterable[Mapping[str, Any]]) -> set[int]:
    """Add events (account_id, name, ts, contact_external_id) to the daily roll-ups."""
    logins = set(refresher_settings(db_session.get_bind()).health_login_events)
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
    statement = dialect_insert(db_session, UsageDaily)
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
        rows = [{"account_id": a, "day": d, column: v} for a, d, v in sorted(keys)]
        db_session.execute(dialect_insert(db_session, model).on_conflict_do_nothing(), rows)


def after_record(db_session: Session, events: Iterable[Mapping[str, Any]]) -> None:
    """Roll events up now and refresh the touched accounts' scores once the session commits."""
    touched = roll_up(db_session, events)
    if not touched:
        return
    pending: set[int] = db_session.info.setdefault(TOUCHED, set())
    if not pending:
        event.listen(db_session, "after_commit", _on_commit, once=True)
        event.listen(db_session, "after_rollback", _on_rollback, once=True)
    pending |= touched


def _on_commit(db_session: Session) -> None:
    touched = db_session.info.pop(TOUCHED, set())
    if event.contains(db_session, "after_rollback", _on_rollback):
        event.remove(db_session, "after_rollback", _on_rollback)
    while touched and not get_refresher(db_session.get_bind()).submit(touched):
        pass  # that refresher had just stopped; the next call starts a new one


def _on_rollback(db_session: Session) -> None:
    db_session.info.pop(TOUCHED, None)
    if event.contains(db_session, "after_commit", _on_commit):
        event.remove(db_session, "after_commit", _on_commit)


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


def refresh_scores(engine: Engine, ids: Collection[int], settings: Settings) -> int:
    """Recompute today's health of accounts from the roll-ups, store it, publish changes."""
    day = clock.now().date()
    with session_scope(engine) as db_session:
        references = service.latest_references(db_session, day)
        available = {k: k in references for k in POPULATION_KINDS} if references else {}
        usage = rollup_usage(db_session, day, ids)
        scores = score_day(
            db_session,
            day,
            usage,
            available,
            drop_points=settings.health_score_drop_points,
            account_ids=ids,
            references=references or {},
            source="realtime",
        )
        service.upsert_rows(db_session, scores.rows)
    for note in scores.notes:
        get_bus().publish(note)
    return len(scores.rows)


class ScoreRefresher:
    """A background thread recomputing the scores of accounts touched by committed events."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.latencies: deque[float] = deque(maxlen=100_000)  # seconds, submit → stored
        self._pending: dict[int, float] = {}
        self._clock: clock.Clock = clock.get_clock()
        self._busy = self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="health-refresher", daemon=True)
        self._thread.start()

    def submit(self, ids: Iterable[int]) -> bool:
        """Queue accounts for a refresh; return False if this refresher has stopped."""
        now = time.monotonic()
        with self._cond:
            if self._closed:
                return False
            self._clock = clock.get_clock()  # threads do not inherit a test's frozen clock
            for account_id in ids:
                self._pending.setdefault(account_id, now)  # keeps an account's first time
            self._cond.notify_all()
        return True

    @property
    def closed(self) -> bool:
        """Return True once the thread has stopped after being idle."""
        with self._cond:
            return self._closed

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is pending or being refreshed; return False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    self._cond.wait(IDLE_SECONDS)
                self._closed = not self._pending  # idle: stop, releasing the engine
                if self._closed:
                    break
                batch, self._pending, self._busy = self._pending, {}, True
                frozen = self._clock
            try:
                with clock.use_clock(frozen):
                    refresh_scores(self.engine, list(batch), self.settings)
            except Exception:  # keep serving other accounts; the daily stage repairs this one
                log.exception("health refresh failed", accounts=len(batch))
            done = time.monotonic()
            with self._cond:
                self.latencies.extend(done - t for t in batch.values())
                self._busy = False
                self._cond.notify_all()
        _forget(self)


_refreshers: weakref.WeakKeyDictionary[Engine, ScoreRefresher] = weakref.WeakKeyDictionary()
_settings: weakref.WeakKeyDictionary[Engine, Settings] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _forget(refresher: ScoreRefresher) -> None:
    with _lock:
        if _refreshers.get(refresher.engine) is refresher:
            del _refreshers[refresher.engine]


def configure_realtime(engine: Engine, settings: Settings) -> None:
    """Use these settings (login events, drop threshold) for the engine's real-time path."""
    with _lock:
        _settings[engine] = settings


def refresher_settings(engine: Any) -> Settings:
    """Return the settings configured for an engine (process settings by default)."""
    engine = getattr(engine, "engine", engine)
    with _lock:
        return _settings.get(engine) or get_settings()


def get_refresher(engine: Any) -> ScoreRefresher:
    """Return this process's refresher for an engine, started on first use."""
    engine = getattr(engine, "engine", engine)
    settings = refresher_settings(engine)
    with _lock:
        if engine not in _refreshers or _refreshers[engine].closed:
            _refreshers[engine] = ScoreRefresher(engine, settings)
        return _refreshers[engine]


def flush_all(timeout: float = 30.0) -> bool:
    """Wait until every refresher of this process is idle (before disposing of an engine)."""
    with _lock:
        refreshers = list(_refreshers.values())
    return all(refresher.flush(timeout) for refresher in refreshers)
