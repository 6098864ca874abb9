"""Test data factories: app-DB rows written through the ORM with sensible defaults.

Each `add_*` function adds one row to the given session (any column can be overridden by
keyword), flushes so the row has its id, and returns it; the caller's `session_scope`
commits. Rows that belong to an account take the Account or its id. `add_warehouse_events`
appends events to the warehouse, which has no ORM.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Contact, Invoice, Subscription, SurveyResponse, Ticket
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.events.models import InboxEvent
from tenure.experiments.holdout import in_holdout
from tenure.health.models import HealthScore
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

T0 = datetime(2024, 1, 15, tzinfo=UTC)
DAY = date(2025, 6, 30)  # the frozen clock's day
Row = TypeVar("Row")
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    """Return an external id no other factory call in this process returns."""
    return f"{prefix}-{next(_serial)}"


def treatable_id() -> str:
    """Return a unique account external id outside the default global holdout.

    The serial depends on which tests ran before, so an id drawn blindly would land in the
    global holdout (5 %) for some orders of the suite and not others.
    """
    fraction = Settings.model_fields["holdout_fraction"].default
    while in_holdout(external_id := unique("acct"), fraction):
        pass
    return external_id


def _added(session: Session, row: Row) -> Row:
    session.add(row)
    session.flush()
    return row


def _id(account: Account | int) -> int:
    return account if isinstance(account, int) else account.id


def add_account(session: Session, external_id: str | None = None, **fields: Any) -> Account:
    """Add an account (named after its external id, created at T0)."""
    external_id = external_id or treatable_id()
    values = {"name": f"Account {external_id}", "created_at": T0, "attributes": {}} | fields
    return _added(session, Account(external_id=external_id, **values))


def add_subscription(session: Session, account: Account, **fields: Any) -> Subscription:
    """Add an active monthly 'pro' subscription of 100.00 USD MRR, from the account's creation."""
    values = {
        "external_id": f"sub-{account.external_id}",
        "plan": "pro",
        "status": "active",
        "mrr": 10_000,
        "currency": "USD",
        "quantity": 1,
        "billing_interval": "month",
        "started_at": account.created_at,
        "ended_at": None,
    }
    return _added(session, Subscription(account_id=account.id, **(values | fields)))


def add_contact(session: Session, account: Account | int, **fields: Any) -> Contact:
    """Add a contact of an account with an example.com email."""
    external_id = fields.pop("external_id", None) or unique("contact")
    values = {"email": f"{external_id}@example.com", "name": external_id, "created_at": T0}
    contact = Contact(account_id=_id(account), external_id=external_id, **(values | fields))
    return _added(session, contact)


def add_ticket(session: Session, account: Account | int, **fields: Any) -> Ticket:
    """Add an open, normal-priority support ticket opened at T0."""
    values = {"external_id": unique("t"), "opened_at": T0, "priority": "normal", "status": "open"}
    return _added(session, Ticket(account_id=_id(account), **(values | fields)))


def add_invoice(session: Session, account: Account | int, **fields: Any) -> Invoice:
    """Add a paid invoice of 1.00 USD issued at T0."""
    values = {
        "external_id": unique("i"),
        "amount": 100,
        "currency": "USD",
        "status": "paid",
        "issued_at": T0,
    }
    return _added(session, Invoice(account_id=_id(account), **(values | fields)))


def add_survey(session: Session, account: Account | int, **fields: Any) -> SurveyResponse:
    """Add an NPS answer of 9 given at T0."""
    values = {"external_id": unique("s"), "kind": "nps", "score": 9, "responded_at": T0}
    return _added(session, SurveyResponse(account_id=_id(account), **(values | fields)))


def add_health_score(session: Session, account: Account | int, **fields: Any) -> HealthScore:
    """Add a green default-scorecard health score of 80 as of DAY."""
    values = {
        "as_of": DAY,
        "scorecard": "default",
        "score": 80.0,
        "tier": "green",
        "measures": {},
        "reason": None,
        "updated_at": T0,
    }
    return _added(session, HealthScore(account_id=_id(account), **(values | fields)))


def add_churn_score(session: Session, account: Account | int, **fields: Any) -> ChurnScore:
    """Add a low-risk 90-day churn score of 5 % as of DAY."""
    values = {
        "as_of": DAY,
        "horizon_days": 90,
        "model_version": "churn-v1",
        "probability": 0.05,
        "risk_tier": "low",
        "reasons": [],
        "scored_at": T0,
    }
    return _added(session, ChurnScore(account_id=_id(account), **(values | fields)))


def add_inbox_event(session: Session, account: Account, **fields: Any) -> InboxEvent:
    """Add a 'login' event to the app-DB inbox, received at its time."""
    values = {"message_id": unique("m"), "name": "login", "ts": T0, "source": "test"} | fields
    values.setdefault("received_at", values["ts"])
    event = InboxEvent(account_external_id=account.external_id, account_id=account.id, **values)
    return _added(session, event)


def add_warehouse_events(
    settings: Settings,
    account_id: int,
    account_external_id: str,
    rows: Iterable[tuple[str, str, datetime, str | None]],
) -> None:
    """Append (message_id, name, ts, contact) events of one account to the warehouse."""
    with open_warehouse(settings) as warehouse:
        for message_id, name, ts, contact in rows:
            warehouse.con.execute(
                f"INSERT INTO {EVENTS} VALUES (?, ?, ?, ?, ?, ?, NULL, 'test', ?, NULL)",
                [message_id, account_id, account_external_id, contact, name, ts, ts],
            )
