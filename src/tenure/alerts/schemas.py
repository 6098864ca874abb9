"""Alerts, their history and rules as JSON-ready dicts; triggers, outcomes and notes as values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tenure import clock
from tenure.alerts.models import Alert, AlertHistory, AlertRule
from tenure.notifications import Notification


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def alert_dict(alert: Alert) -> dict[str, Any]:
    """Return an alert as a JSON-ready dict."""
    return {
        "id": alert.id,
        "account_id": alert.account_id,
        "rule": alert.rule,
        "kind": alert.kind,
        "severity": alert.severity,
        "owner": alert.owner,
        "status": alert.status,
        "message": alert.message,
        "facts": alert.facts,
        "opened_at": _iso(alert.opened_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "snoozed_until": _iso(alert.snoozed_until),
        "resolved_at": _iso(alert.resolved_at),
        "escalate_at": _iso(alert.escalate_at),
        "escalated_at": _iso(alert.escalated_at),
    }


def history_dict(entry: AlertHistory) -> dict[str, Any]:
    """Return a history entry as a JSON-ready dict."""
    return {
        "action": entry.action,
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "actor": entry.actor,
        "at": entry.at.isoformat(),
        "note": entry.note,
    }


def rule_dict(rule: AlertRule) -> dict[str, Any]:
    """Return a rule as a JSON-ready dict (the same shape save_rule accepts)."""
    return {
        "name": rule.name,
        "kind": rule.kind,
        "description": rule.description,
        "params": rule.params,
        "severity": rule.severity,
        "route": rule.route,
        "channels": rule.channels,
        "cooldown_hours": rule.cooldown_hours,
        "escalate_after_hours": rule.escalate_after_hours,
        "enabled": rule.enabled,
    }


@dataclass(frozen=True)
class Trigger:
    """A rule fired for an account: the sentence, the numbers and when the condition started.

    started_at is None where the rule cannot tell cheaply (the alert is then always opened);
    owner, when set, replaces the account's CSM for an `owner` route (a task's owner).
    """

    account_id: int
    text: str
    facts: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    owner: str | None = None


@dataclass
class RulesOutcome:
    """The triggers of each rule that ran, why each failed rule did not, and the backlog skipped.

    backlog_skipped counts, per rule, the triggers whose condition started before the rule's
    backlog_before (they open no alert).
    """

    triggers: dict[str, list[Trigger]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    backlog_skipped: dict[str, int] = field(default_factory=dict)


def alert_note(kind: str, alert: Alert, **extra: Any) -> Notification:
    """Return the notification of an alert event (kind: opened, acknowledged, …)."""
    payload = {
        "alert_id": alert.id,
        "rule": alert.rule,
        "severity": alert.severity,
        "status": alert.status,
        "owner": alert.owner,
        "message": alert.message,
        **extra,
    }
    return Notification(kind, alert.account_id, payload, at=clock.now())
