"""Factories for health tests: accounts with subscriptions in the app DB, events in the warehouse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tenure.accounts.models import Account, Invoice, Subscription, SurveyResponse, Ticket
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

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
            account = Account(
                external_id=external_id, name=external_id.title(), created_at=at(created)
            )
            s.add(account)
            s.flush()
            s.add(
                Subscription(
                    account_id=account.id,
                    external_id=f"sub-{external_id}",
                    plan="pro",
                    status="active",
                    mrr=mrr,
                    currency="USD",
                    quantity=seats,
                    billing_interval=interval,
                    started_at=at(started or created, 0),
                    ended_at=None if ended is None else at(ended, 0),
                )
            )
            self.ids[external_id] = account.id
            return account.id

    def add(self, *rows: Any) -> None:
        """Add ORM rows (tickets, invoices, surveys...)."""
        with session_scope(self.engine) as s:
            s.add_all(rows)

    def ticket(self, external_id: str, opened: date, priority: str = "normal", **kw: Any) -> None:
        """Add a ticket to an account."""
        self._n += 1
        self.add(
            Ticket(
                account_id=self.ids[external_id],
                external_id=f"t{self._n}",
                opened_at=at(opened),
                priority=priority,
                status=kw.pop("status", "open"),
                **kw,
            )
        )

    def survey(self, external_id: str, kind: str, score: int, day: date) -> None:
        """Add an NPS or CSAT answer."""
        self._n += 1
        self.add(
            SurveyResponse(
                account_id=self.ids[external_id],
                external_id=f"s{self._n}",
                kind=kind,
                score=score,
                responded_at=at(day),
            )
        )

    def failed_invoice(self, external_id: str, day: date) -> None:
        """Add a failed invoice."""
        self._n += 1
        self.add(
            Invoice(
                account_id=self.ids[external_id],
                external_id=f"i{self._n}",
                amount=100,
                currency="USD",
                status="failed",
                issued_at=at(day),
            )
        )

    def events(self, external_id: str, rows: list[tuple[str, datetime, str | None]]) -> None:
        """Append (name, ts, contact) events of an account to the warehouse."""
        account_id = self.ids[external_id]
        with open_warehouse(self.settings) as warehouse:
            for name, ts, contact in rows:
                self._n += 1
                warehouse.con.execute(
                    f"INSERT INTO {EVENTS} VALUES (?, ?, ?, ?, ?, ?, NULL, 'test', ?, NULL)",
                    [f"m{self._n}", account_id, external_id, contact, name, ts, ts],
                )

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
