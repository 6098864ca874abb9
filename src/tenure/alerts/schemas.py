"""Alerts, their history and rules as plain JSON-ready dicts (for the CLI, API and dashboard)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenure.alerts.models import Alert, AlertHistory, AlertRule


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
