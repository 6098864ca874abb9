"""The alerts inbox for the dashboard, through `tenure.alerts.service`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts import service as accounts
from tenure.accounts.models import Account
from tenure.accounts.people import contact_names
from tenure.accounts.schemas import Money, Reader
from tenure.alerts import service, smart
from tenure.alerts.inbox import inbox_page
from tenure.config import Settings
from tenure.errors import InputError
from tenure.privacy.masking import mask_text

STATUSES = ("active", "open", "acknowledged", "snoozed", "resolved")
VIEWS = ("accounts", "list")
ACTIONS = ("acknowledge", "snooze", "resolve")
SNOOZE_DAYS = (1, 3, 7)


def _as_dict(
    alert: Any,
    names: dict[int, str],
    reader: Reader | None = None,
    people: Sequence[str] = (),
) -> dict[str, Any]:
    fields = ("id", "account_id", "rule", "kind", "severity", "owner", "status", "message")
    fields += ("opened_at", "acknowledged_at", "snoozed_until", "resolved_at")
    row = {name: getattr(alert, name, None) for name in fields}
    row["account_name"] = name = names.get(row["account_id"], "")
    message = row["message"] or ""
    if reader is not None and not reader.sees_alert_people(alert.owner):
        message = row["message"] = mask_text(message, people)
    row["text"] = message[len(name) + 2 :] if name and message.startswith(f"{name}: ") else message
    return row


def _names(db_session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db_session.execute(sa.select(Account.id, Account.name).where(Account.id.in_(ids)))
    return {account_id: name for account_id, name in rows}


@dataclass(frozen=True)
class Inbox:
    """One page of the dashboard's inbox: alert dicts with account name and MRR, and the count."""

    alerts: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    first: int
    last: int


def inbox(
    *,
    db_session: Session,
    money: Money,
    day: date,
    status: str | None = None,
    owner: str | None = None,
    page: int = 1,
    reader: Reader | None = None,
) -> Inbox:
    """Return a page of alerts, most severe first, then by the account's MRR in force on day."""
    if status and status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    mrr = accounts.mrr_in_force_query(db_session=db_session, day=day, money=money).subquery()
    found = inbox_page(
        db_session=db_session, mrr=mrr, status=status or None, owner=owner, page=page
    )
    ids = {row.alert.account_id for row in found.rows}
    names = _names(db_session, ids)
    people = contact_names(db_session, ids) if reader is not None else []
    rows = [
        _as_dict(row.alert, names, reader, people) | {"mrr": money.major(row.mrr)}
        for row in found.rows
    ]
    return Inbox(rows, found.total, found.page, found.pages, found.first, found.last)


@dataclass(frozen=True)
class GroupedInbox:
    """One page of the smart inbox: account groups by MRR at risk, and the budget applied."""

    groups: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    budget: int


def grouped_inbox(
    *, db_session: Session, settings: Settings, day: date, status: str | None = None,
    owner: str | None = None, page: int = 1, reader: Reader | None = None,
) -> GroupedInbox:  # fmt: skip
    """Return a page of the smart inbox: one group per account with all its alerts' reasons."""
    if status and status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    found = smart.inbox_groups(
        db_session=db_session, settings=settings, day=day, status=status or None,
        owner=owner, page=page,
    )  # fmt: skip
    ids = {g["account_id"] for g in found["groups"]}
    names = {g["account_id"]: g["account_name"] for g in found["groups"]}
    people = contact_names(db_session, ids) if reader is not None else []
    groups = []
    for group in found["groups"]:
        rows = [_as_dict(a, names, reader, people) for a in group["alerts"]]
        why = list(dict.fromkeys(row["text"] for row in rows))
        groups.append({**group, "alerts": rows, "reasons": why})
    return GroupedInbox(groups, found["total"], found["page"], found["pages"], found["budget"])


def get_alert(*, db_session: Session, alert_id: int) -> dict[str, Any]:
    """Return one alert as a dict, or raise NotFound."""
    alert = service.get_alert(db_session, alert_id)
    return _as_dict(alert, _names(db_session, {alert.account_id}))


def snooze_until(days_text: str | None) -> datetime:
    """Return when a snooze of the given number of days ends, or raise InputError."""
    text = (days_text or "1").strip()
    if not text.isdigit() or int(text) not in SNOOZE_DAYS:
        raise InputError(f"snooze days must be one of {SNOOZE_DAYS}, got {text!r}")
    return clock.now() + timedelta(days=int(text))


def act(
    *, db_session: Session, alert_id: int, action: str, actor: str, days: str | None = None
) -> dict[str, Any]:
    """Acknowledge, snooze or resolve an alert as actor; return it after the change."""
    if action == "acknowledge":
        service.acknowledge(db_session, alert_id, actor=actor)
    elif action == "snooze":
        service.snooze(db_session, alert_id, until=snooze_until(days), actor=actor)
    elif action == "resolve":
        service.resolve(db_session, alert_id, actor=actor)
    else:
        raise InputError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    return get_alert(db_session=db_session, alert_id=alert_id)
