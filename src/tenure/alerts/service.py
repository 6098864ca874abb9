"""Alert rules and the alert lifecycle in the app DB (sessions commit at the boundary)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.alerts import outbox
from tenure.alerts.models import ACTIVE_STATUSES, ALERT_STATUSES, Alert, AlertHistory, AlertRule
from tenure.alerts.notify import notify_after_commit as _notify_after_commit
from tenure.alerts.routing import Routing, recipient
from tenure.alerts.rules import DEFAULT_RULES, validate_rule
from tenure.alerts.schemas import Trigger, alert_dict, alert_note, history_dict, rule_dict
from tenure.db.bulk import dialect_insert
from tenure.errors import InputError, InvalidFields, NotFound, StateConflict

SYSTEM = "system"
MAX_SNOOZE = timedelta(days=365)


# --- rules -----------------------------------------------------------------------------------


def list_rules(session: Session) -> list[AlertRule]:
    """Return every alert rule by name."""
    return list(session.scalars(sa.select(AlertRule).order_by(AlertRule.name)))


def get_rule(session: Session, name: str) -> AlertRule:
    """Return the rule called name; raise NotFound."""
    rule = session.scalar(sa.select(AlertRule).where(AlertRule.name == name))
    if rule is None:
        raise NotFound(f"no alert rule named {name!r}")
    return rule


def save_rule(session: Session, spec: dict[str, Any]) -> AlertRule:
    """Create or replace the rule named in spec (validated); return it."""
    checked = validate_rule(spec)
    rule = session.scalar(sa.select(AlertRule).where(AlertRule.name == checked["name"]))
    if rule is None:
        rule = AlertRule(name=checked["name"])
        session.add(rule)
    if (rule.kind, rule.params) != (checked["kind"], checked["params"]):
        rule.backlog_before = None  # a changed condition gets a first run of its own
    for key, value in checked.items():
        setattr(rule, key, value)
    rule.updated_at = clock.now()
    session.flush()
    return rule


def delete_rule(session: Session, name: str) -> None:
    """Delete a rule (its alerts stay, with the rule's name); raise NotFound."""
    session.delete(get_rule(session, name))
    session.flush()


def ensure_default_rules(session: Session) -> int:
    """Install the shipped rules when no rule exists at all; return how many were added."""
    if session.scalar(sa.select(sa.func.count()).select_from(AlertRule)):
        return 0
    for spec in DEFAULT_RULES:
        save_rule(session, spec)
    return len(DEFAULT_RULES)


# --- reading alerts --------------------------------------------------------------------------


def alert_filters(
    status: str | None, owner: str | None = None, account_id: int | None = None
) -> list[sa.ColumnElement[bool]]:
    """Return the conditions of a status ("active" = not resolved), owner and account filter."""
    conditions: list[sa.ColumnElement[bool]] = []
    if status is not None:
        if status not in (*ALERT_STATUSES, "active"):
            raise InputError(f"status must be one of {', '.join(ALERT_STATUSES)} or active")
        statuses = ACTIVE_STATUSES if status == "active" else (status,)
        conditions.append(Alert.status.in_(statuses))
    if owner is not None:
        conditions.append(Alert.owner == owner)
    if account_id is not None:
        conditions.append(Alert.account_id == account_id)
    return conditions


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    owner: str | None = None,
    account_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Alert]:
    """Return alerts newest first, filtered by status, owner and account."""
    query = sa.select(Alert).where(*alert_filters(status, owner, account_id))
    if limit < 0 or offset < 0:
        raise InputError("limit and offset must not be negative")
    query = query.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def get_alert(session: Session, alert_id: int) -> Alert:
    """Return one alert; raise NotFound."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert with id {alert_id}")
    return alert


def alert_history(session: Session, alert_id: int) -> list[AlertHistory]:
    """Return an alert's changes, oldest first."""
    get_alert(session, alert_id)
    query = sa.select(AlertHistory).where(AlertHistory.alert_id == alert_id)
    return list(session.scalars(query.order_by(AlertHistory.at, AlertHistory.id)))


# --- lifecycle -------------------------------------------------------------------------------


def _record(
    session: Session, alert: Alert, action: str, actor: str, before: str | None, note: str = ""
) -> None:
    """Append a history row for a change of alert and publish it after commit."""
    now = clock.now()
    alert.updated_at = now
    session.add(
        AlertHistory(
            alert_id=alert.id,
            action=action,
            from_status=before,
            to_status=alert.status,
            actor=actor,
            at=now,
            note=note or None,
        )
    )
    kind = "alert_opened" if action == "opened" else "alert_changed"
    _notify_after_commit(session, alert_note(kind, alert, action=action, actor=actor))


def _check_actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise InputError("say who made the change (actor)")
    return actor.strip()


def acknowledge(session: Session, alert_id: int, *, actor: str) -> Alert:
    """Mark an open or snoozed alert as acknowledged by actor (stops the escalation clock)."""
    actor = _check_actor(actor)
    alert = get_alert(session, alert_id)
    if alert.status not in ("open", "snoozed"):
        raise StateConflict(
            f"alert {alert_id} is {alert.status}; only open or snoozed alerts can be acknowledged"
        )
    before, alert.status = alert.status, "acknowledged"
    alert.acknowledged_at, alert.snoozed_until, alert.escalate_at = clock.now(), None, None
    _record(session, alert, "acknowledged", actor, before)
    session.flush()
    return alert


def _check_snooze_until(until: datetime) -> None:
    if until.tzinfo is None:
        raise InputError("snooze until must carry a time zone (UTC)")
    if until <= clock.now():
        raise InputError(f"snooze until {until.isoformat()} is not in the future")
    if until > clock.now() + MAX_SNOOZE:
        text = f"snooze until {until.isoformat()} is more than {MAX_SNOOZE.days} days ahead"
        raise InvalidFields(text, [{"loc": "until", "msg": text}])


def snooze(session: Session, alert_id: int, *, until: datetime, actor: str) -> Alert:
    """Hide an active alert until a later time; it re-opens then."""
    actor = _check_actor(actor)
    alert = get_alert(session, alert_id)
    _check_snooze_until(until)
    if alert.status not in ACTIVE_STATUSES:
        raise StateConflict(f"alert {alert_id} is {alert.status}; it cannot be snoozed")
    before, alert.status = alert.status, "snoozed"
    alert.snoozed_until, alert.escalate_at = until, None
    _record(session, alert, "snoozed", actor, before, note=f"until {until.isoformat()}")
    session.flush()
    return alert


def resolve(session: Session, alert_id: int, *, actor: str) -> Alert:
    """Close an active alert; its rule's cooldown for the account starts now."""
    actor = _check_actor(actor)
    alert = get_alert(session, alert_id)
    if alert.status not in ACTIVE_STATUSES:
        raise StateConflict(f"alert {alert_id} is already {alert.status}")
    before, alert.status = alert.status, "resolved"
    alert.resolved_at, alert.open_key = clock.now(), None
    alert.snoozed_until = alert.escalate_at = None
    _record(session, alert, "resolved", actor, before)
    session.flush()
    return alert


# --- opening alerts (dedupe, cooldown, routing) ---------------------------------------------


def _blocked_accounts(session: Session, rule: AlertRule, account_ids: list[int]) -> set[int]:
    """Return accounts with an active alert of rule, or one resolved within the cooldown."""
    since = clock.now() - timedelta(hours=rule.cooldown_hours)
    blocked: set[int] = set()
    for chunk in _chunks(account_ids, 500):
        active = sa.or_(Alert.status.in_(ACTIVE_STATUSES), Alert.resolved_at > since)
        query = sa.select(Alert.account_id).where(
            Alert.rule == rule.name, Alert.account_id.in_(chunk), active
        )
        blocked.update(session.scalars(query))
    return blocked


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def open_alerts(
    session: Session,
    rule: AlertRule,
    triggers: list[Trigger],
    routing: Routing,
    held: Collection[tuple[str, int]] = (),
) -> list[Alert]:
    """Open an alert per trigger unless active or cooling down; queue deliveries (held: digest)."""
    if not triggers or not rule.enabled:
        return []
    ids = sorted({t.account_id for t in triggers})
    blocked = _blocked_accounts(session, rule, ids)
    fresh = [t for t in triggers if t.account_id not in blocked]
    accounts = _accounts(session, [t.account_id for t in fresh])
    opened = []
    for trigger in fresh:
        account = accounts.get(trigger.account_id)
        alert = account and _open_one(session, rule, trigger, account, routing, held)
        if alert:
            opened.append(alert)
            blocked.add(trigger.account_id)
    return opened


def _accounts(session: Session, ids: list[int]) -> dict[int, Account]:
    found: dict[int, Account] = {}
    for chunk in _chunks(sorted(set(ids)), 500):
        found.update(
            (a.id, a) for a in session.scalars(sa.select(Account).where(Account.id.in_(chunk)))
        )
    return found


def _insert_ignoring_open_duplicate(session: Session, values: dict[str, Any]) -> int | None:
    """Insert an alert unless its open_key exists (a concurrent opener won); return its id.

    INSERT … ON CONFLICT DO NOTHING instead of a savepoint: pysqlite's SAVEPOINT outside an
    explicit BEGIN commits on RELEASE, which would break the alert + outbox atomicity.
    """
    statement = (
        dialect_insert(session, Alert)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["open_key"])
        .returning(Alert.id)
    )
    return session.execute(statement).scalar()


def _open_one(
    session: Session,
    rule: AlertRule,
    trigger: Trigger,
    account: Account,
    routing: Routing,
    held: Collection[tuple[str, int]],
) -> Alert | None:
    """Insert one alert with its history and outbox rows; None if another opener won a race."""
    now, owner = clock.now(), recipient(rule.route, trigger.owner or account.owner, routing)
    digest = (owner, account.id) in held
    escalate_at = (
        now + timedelta(hours=rule.escalate_after_hours) if rule.escalate_after_hours else None
    )
    values = {
        "account_id": account.id,
        "rule": rule.name,
        "kind": rule.kind,
        "severity": rule.severity,
        "owner": owner,
        "status": "open",
        "message": f"{account.name}: {trigger.text}",
        "facts": {**trigger.facts, "account_external_id": account.external_id}
        | ({"digest": True} if digest else {}),
        "open_key": f"{account.id}:{rule.name}",
        "opened_at": now,
        "escalate_at": escalate_at,
        "updated_at": now,
    }
    alert_id = _insert_ignoring_open_duplicate(session, values)
    if alert_id is None:
        return None
    alert = session.get(Alert, alert_id)
    assert alert is not None
    note = "over the owner's daily budget: in the digest" if digest else rule.description
    _record(session, alert, "opened", SYSTEM, None, note=note or "")
    if not digest:
        outbox.queue_alert(session, alert, rule.channels, alert.owner, "opened", account, routing)
    return alert


# --- time-driven changes: escalations and snoozes that wake up -------------------------------


def _rules_by_name(session: Session) -> dict[str, AlertRule]:
    return {rule.name: rule for rule in list_rules(session)}


def escalate_overdue(session: Session, routing: Routing) -> list[Alert]:
    """Escalate open alerts nobody acknowledged by their deadline (once each)."""
    now = clock.now()
    query = sa.select(Alert).where(
        Alert.status == "open", Alert.escalate_at <= now, Alert.escalated_at.is_(None)
    )
    overdue = list(session.scalars(query.order_by(Alert.id)))
    rules = _rules_by_name(session)
    for alert in overdue:
        alert.escalated_at = now
        to = routing.escalation_to or routing.fallback
        _record(session, alert, "escalated", SYSTEM, alert.status, note=f"to {to}")
        rule = rules.get(alert.rule)
        channels = rule.channels if rule else ["email"]
        account = session.get(Account, alert.account_id)
        outbox.queue_alert(session, alert, channels, to, "escalated", account, routing)
    session.flush()
    return overdue


def wake_snoozed(session: Session, routing: Routing) -> list[Alert]:
    """Re-open snoozed alerts whose time is up, restart their escalation clock, remind owners."""
    now = clock.now()
    query = sa.select(Alert).where(Alert.status == "snoozed", Alert.snoozed_until <= now)
    due = list(session.scalars(query.order_by(Alert.id)))
    rules = _rules_by_name(session)
    for alert in due:
        rule = rules.get(alert.rule)
        hours = rule.escalate_after_hours if rule else None
        woke_from = alert.snoozed_until
        alert.status, alert.snoozed_until = "open", None
        alert.escalate_at = now + timedelta(hours=hours) if hours else None
        alert.escalated_at = None
        _record(session, alert, "woke", SYSTEM, "snoozed")
        account = session.get(Account, alert.account_id)
        tag = (woke_from or now).strftime("%Y%m%dT%H%M%S")
        outbox.queue_alert(
            session, alert, ["email"], alert.owner, "reminder", account, routing, key_suffix=tag
        )
    session.flush()
    return due


__all__ = [
    "Trigger",
    "acknowledge",
    "alert_dict",
    "alert_history",
    "delete_rule",
    "ensure_default_rules",
    "get_alert",
    "get_rule",
    "history_dict",
    "list_alerts",
    "list_rules",
    "open_alerts",
    "resolve",
    "rule_dict",
    "save_rule",
    "snooze",
]
