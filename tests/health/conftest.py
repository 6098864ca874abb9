"""Factories for health tests: accounts with subscriptions in the app DB, events in the warehouse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tenure.config import Settings
from tenure.db.session import session_scope

from ..factories import (
    add_account,
    add_invoice,
    add_subscription,
    add_survey,
    add_ticket,
    add_warehouse_events,
)

DAY = date(2025, 6, 30)  # the frozen clock's day


def at(day: date, hour: int = 12) -> datetime:
    """Return an aware UTC time on day."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class Book:
    """Builds a small customer book directly in the app DB and the warehouse."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.ids: dict[str, int] = {}
        self._n = 0

    def account(
        self,
        external_id: str,
        *,
        created: date = date(2024, 1, 1),
        seats: int = 10,
        interval: str = "month",
        started: date | None = None,
        ended: date | None = None,
        mrr: int = 10_000,
    ) -> int:
        """Add an account with one subscription; return its id."""
        with session_scope(self.engine) as s:
            account = add_account(s, external_id, name=external_id.title(), created_at=at(created))
            add_subscription(
                s,
                account,
                mrr=mrr,
                quantity=seats,
                billing_interval=interval,
                started_at=at(started or created, 0),
                ended_at=None if ended is None else at(ended, 0),
            )
            self.ids[external_id] = account.id
            return account.id

    def add(self, *rows: Any) -> None:
        """Add ORM rows (tickets, invoices, surveys...)."""
        with session_scope(self.engine) as s:
            s.add_all(rows)

    def _serial(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def ticket(self, external_id: str, opened: date, priority: str = "normal", **kw: Any) -> None:
        """Add a ticket to an account."""
        with session_scope(self.engine) as s:
            add_ticket(
                s,
                self.ids[external_id],
                external_id=self._serial("t"),
                opened_at=at(opened),
                priority=priority,
                **kw,
            )

    def survey(self, external_id: str, kind: str, score: int, day: date) -> None:
        """Add an NPS or CSAT answer."""
        with session_scope(self.engine) as s:
            add_survey(
                s,
                self.ids[external_id],
                external_id=self._serial("s"),
                kind=kind,
                score=score,
                responded_at=at(day),
            )

    def failed_invoice(self, external_id: str, day: date) -> None:
        """Add a failed invoice."""
        with session_scope(self.engine) as s:
            add_invoice(
                s,
                self.ids[external_id],
                external_id=self._serial("i"),
                status="failed",
                issued_at=at(day),
            )

    def events(self, external_id: str, rows: list[tuple[str, datetime, str | None]]) -> None:
        """Append (name, ts, contact) events of an account to the warehouse."""
        numbered = [(self._serial("m"), name, ts, contact) for name, ts, contact in rows]
        add_warehouse_events(self.settings, self.ids[external_id], external_id, numbered)

    def daily_events(
        self, external_id: str, first: date, last: date, names: list[str], users: list[str]
    ) -> None:
        """Add, for each day first..last, one event per name, spread over the users."""
        rows = []
        day = first
        while day <= last:
            for i, name in enumerate(names):
                rows.append((name, at(day, 9 + i % 10), users[i % len(users)] if users else None))
            day += timedelta(days=1)
        self.events(external_id, rows)


@pytest.fixture
def book(settings: Settings, engine: Engine) -> Book:
    """Return an empty book on SQLite in the test's data dir."""
    return Book(settings, engine)
