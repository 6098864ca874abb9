"""The health refresher: today's score of the accounts whose inputs just changed, off the request.

Whoever commits a change health depends on (the tracking routes after `record_events`, the
Stripe webhook after `apply_event`) hands the touched accounts to the `ScoreRefresher` its
owner started: the app (in `create_app`'s lifespan, `app.state.refresher`) or a command. Its
thread coalesces the accounts, waits `health_refresh_delay_seconds` after the first one, then
`refresh_scores` stores their score for today, deletes their `health_refresh_queue` rows in the
same transaction and publishes `tier_change` / `score_drop` notifications after the commit (the
alert listener, `tenure.alerts.flows.AlertListener`, turns those into alerts). On start it
picks up whatever a crash left in the queue.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Collection, Iterable

from sqlalchemy import Engine

from tenure import clock
from tenure.accounts.schemas import Money
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.health import service
from tenure.health.flows import score_day
from tenure.health.realtime import dequeue, queue_marks, queued_accounts, rollup_usage
from tenure.logging import get_logger
from tenure.notifications import get_bus

log = get_logger("health.refresher")
POPULATION_KINDS = ("login_recency", "seat_utilisation", "support_load", "churn_probability")


def refresh_scores(engine: Engine, ids: Collection[int], settings: Settings) -> int:
    """Recompute today's health of accounts, store it, clear their queue rows; publish changes."""
    day = clock.now().date()
    with session_scope(engine) as db_session:
        marks = queue_marks(db_session=db_session, account_ids=ids)  # before reading usage
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
            money=Money.from_settings(settings),
        )
        service.upsert_rows(db_session, scores.rows)
        dequeue(db_session=db_session, marks=marks)
    for note in scores.notes:
        get_bus().publish(note)
    return len(scores.rows)


class ScoreRefresher:
    """A thread recomputing today's score of submitted accounts; its owner starts and stops it."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.delay = settings.health_refresh_delay_seconds
        self.latencies: deque[float] = deque(maxlen=100_000)  # seconds, submit → stored
        self._pending: dict[int, float] = {}  # account → when it was first submitted
        self._due: float | None = None  # when the pending batch is refreshed
        self._clock: clock.Clock = clock.get_clock()
        self._busy = self._stopping = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="health-refresher", daemon=True)

    def start(self) -> ScoreRefresher:
        """Start the thread with the accounts left in the queue (by a crash) due at once."""
        with session_scope(self.engine) as db_session:
            left = queued_accounts(db_session=db_session)
        self._thread.start()
        if left:
            log.info("refreshing accounts queued before start-up", accounts=len(left))
            self.submit(left, due_now=True)
        return self

    def submit(self, ids: Iterable[int], *, due_now: bool = False) -> bool:
        """Queue accounts for a refresh; return False (they stay queued in the DB) once stopped."""
        now = time.monotonic()
        with self._cond:
            if self._stopping:
                return False
            self._clock = clock.get_clock()  # threads do not inherit a test's frozen clock
            for account_id in ids:
                self._pending.setdefault(account_id, now)  # keeps an account's first time
            if self._pending:
                due = now if due_now else now + self.delay
                self._due = due if self._due is None else min(self._due, due)
            self._cond.notify_all()
        return True

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

    def stop(self, timeout: float = 30.0) -> None:
        """Refresh what is pending now (without the delay), then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _next_batch(self) -> tuple[dict[int, float], clock.Clock] | None:
        """Wait until a batch is due (or the refresher stops); return it and its clock."""
        with self._cond:
            while True:
                now = time.monotonic()
                if self._pending and (self._stopping or now >= (self._due or now)):
                    batch, self._pending, self._due, self._busy = self._pending, {}, None, True
                    return batch, self._clock
                if self._stopping:
                    return None
                self._cond.wait(None if self._due is None else self._due - now)

    def _run(self) -> None:
        while (taken := self._next_batch()) is not None:
            batch, frozen = taken
            try:
                with clock.use_clock(frozen):
                    refresh_scores(self.engine, list(batch), self.settings)
            except Exception:  # keep serving other accounts; their queue rows stay for a restart
                log.exception("health refresh failed", accounts=len(batch))
            done = time.monotonic()
            with self._cond:
                self.latencies.extend(done - t for t in batch.values())
                self._busy = False
                self._cond.notify_all()
