"""Fixtures for the data-quality tests: a factory of canonical rows and warehouse events."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tenure.accounts.models import Account, Contact, Invoice, Subscription, SurveyResponse, Ticket
from tenure.clock import FrozenClock
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.ingest.models import ImportRun, QuarantinedRow
from tenure.warehouse.connection import open_warehouse


class Factory:
    """Insert canonical rows with sensible defaults; keyword arguments override them.

    Default timestamps are relative to `now`, the frozen clock of the test.
    """

    def __init__(self, engine: Engine, settings: Settings, now: datetime) -> None:
        self.engine = engine
        self.settings = settings
        self.now = now
        self._ids = itertools.count(1)

    def days_ago(self, days: float) -> datetime:
        """Return now minus a number of days."""
        return self.now - timedelta(days=days)

    def _add(self, model: type, defaults: dict[str, Any], overrides: dict[str, Any]) -> Any:
        row = model(**(defaults | overrides))
        with session_scope(self.engine) as session:
            session.add(row)
        return row

    def _external_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def account(self, **overrides: Any) -> Account:
        """Insert an account with every field filled."""
        defaults = {
            "external_id": self._external_id("acc"),
            "name": "Acme",
            "created_at": self.days_ago(5),
            "industry": "software",
            "region": "EU",
            "owner": "csm@example.com",
        }
        return self._add(Account, defaults, overrides)

    def contact(self, account: Account, **overrides: Any) -> Contact:
        """Insert a contact of account."""
        defaults = {
            "account_id": account.id,
            "external_id": self._external_id("con"),
            "email": "ana@example.com",
            "created_at": self.days_ago(5),
        }
        return self._add(Contact, defaults, overrides)

    def subscription(self, account: Account, **overrides: Any) -> Subscription:
        """Insert an open subscription of account."""
        defaults = {
            "account_id": account.id,
            "external_id": self._external_id("sub"),
            "plan": "pro",
            "status": "active",
            "mrr": 10_000,
            "currency": "USD",
            "started_at": self.days_ago(10),
        }
        return self._add(Subscription, defaults, overrides)

    def invoice(self, account: Account, **overrides: Any) -> Invoice:
        """Insert a paid invoice of account."""
        defaults = {
            "account_id": account.id,
            "external_id": self._external_id("inv"),
            "amount": 10_000,
            "currency": "USD",
            "status": "paid",
            "issued_at": self.days_ago(10),
            "paid_at": self.days_ago(9),
        }
        return self._add(Invoice, defaults, overrides)

    def ticket(self, account: Account, **overrides: Any) -> Ticket:
        """Insert an open ticket of account."""
        defaults = {
            "account_id": account.id,
            "external_id": self._external_id("tic"),
            "opened_at": self.days_ago(1),
            "priority": "high",
            "status": "open",
        }
        return self._add(Ticket, defaults, overrides)

    def survey(self, account: Account, **overrides: Any) -> SurveyResponse:
        """Insert an NPS answer of account."""
        defaults = {
            "account_id": account.id,
            "external_id": self._external_id("srv"),
            "kind": "NPS",
            "score": 9,
            "responded_at": self.days_ago(2),
        }
        return self._add(SurveyResponse, defaults, overrides)

    def import_run(
        self, quarantined: Sequence[tuple[str, str]] = (), **overrides: Any
    ) -> ImportRun:
        """Insert a finished import run and its quarantined rows as (field, reason) pairs."""
        defaults = {
            "kind": "tickets",
            "path": "tickets.csv",
            "started_at": self.days_ago(1),
            "finished_at": self.days_ago(1),
            "status": "partial" if quarantined else "ok",
        }
        run = self._add(ImportRun, defaults, overrides)
        with session_scope(self.engine) as session:
            session.add_all(
                QuarantinedRow(
                    import_run_id=run.id,
                    kind=run.kind,
                    file=run.path,
                    line=i + 2,
                    field=f,
                    reason=r,
                )
                for i, (f, r) in enumerate(quarantined)
            )
        return run

    def events(self, *rows: dict[str, Any]) -> None:
        """Append events to the warehouse; each dict overrides the defaults of one event."""
        defaults = {
            "account_external_id": "acc",
            "contact_external_id": None,
            "name": "login",
            "ts": self.days_ago(0.5),
            "properties": "{}",
            "source": "segment",
            "received_at": self.days_ago(0.5),
            "import_run_id": None,
        }
        columns = ["message_id", "account_id", *defaults]
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO events ({', '.join(columns)}) VALUES ({placeholders})"
        values = [[(defaults | row).get(c) for c in columns] for row in rows]
        with open_warehouse(self.settings) as warehouse:
            warehouse.con.executemany(sql, values)


@pytest.fixture
def factory(engine: Engine, settings: Settings, frozen_clock: FrozenClock) -> Factory:
    """Return a row factory on the test's app DB and warehouse, dated by the frozen clock.

    `settings`, `engine` and `frozen_clock` come from tests/conftest.py.
    """
    return Factory(engine, settings, frozen_clock.now())
