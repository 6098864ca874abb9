"""The alerts inbox for the dashboard, through `tenure.alerts.service`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.alerts import service
from tenure.errors import InputError

STATUSES = ("active", "open", "acknowledged", "snoozed", "resolved")
ACTIONS = ("acknowledge", "snooze", "resolve")
SNOOZE_DAYS = (1, 3, 7)
INBOX_LIMIT = 100


def _as_dict(alert: Any, names: dict[int, str]) -> dict[str, Any]:
    fields = ("id", "account_id", "rule", "kind", "severity", "owner", "status", "message")
    fields += ("opened_at", "acknowledged_at", "snoozed_until", "resolved_at")
    row = {name: getattr(alert, name, None) for name in fields}
    row["account_name"] = name = names.get(row["account_id"], "")
    message = row["message"] or ""
    row["text"] = message[len(name) + 2 :] if name and message.startswith(f"{name}: ") else message
    return row


def _names(db_session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db_session.execute(sa.select(Account.id, Account.name).where(Account.id.in_(ids)))
    return {account_id: name for account_id, name in rows}


def inbox(
    *, db_session: Session, status: str | None = None, owner: str | None = None
) -> list[dict[str, Any]]:
    """Return alerts (newest first) as dicts with the account name."""
    if status and status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    alerts = service.list_alerts(db_session, status=status or None, owner=owner, limit=INBOX_LIMIT)
    names = _names(db_session, {a.account_id for a in alerts if a.account_id is not None})
    return [_as_dict(a, names) for a in alerts]


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
