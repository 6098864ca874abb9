"""App-DB models of alerts: rules, alerts, their audited history and the delivery outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, JSONType

ALERT_STATUSES = ("open", "acknowledged", "snoozed", "resolved")
ACTIVE_STATUSES = ("open", "acknowledged", "snoozed")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")


class AlertRule(Base):
    """A rule that opens alerts: what to watch (kind + params), how bad, who hears of it."""

    __tablename__ = "alert_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    severity: Mapped[str] = mapped_column(String(16))
    # "owner" (the account's CSM), "team:ADDRESS", "fallback" or a literal address.
    route: Mapped[str] = mapped_column(String(255))
    # ["email", "slack", "webhook:NAME", ...]
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    cooldown_hours: Mapped[int] = mapped_column(Integer, default=72)
    escalate_after_hours: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]
    # Set by the rule's first evaluation (NULL before it): conditions that started before this
    # instant are backlog and open no alert, then or later; newer conditions alert as usual.
    backlog_before: Mapped[datetime | None]


class Alert(Base):
    """One alert about one account raised by one rule, with its lifecycle timestamps."""

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # one of ALERT_STATUSES
    message: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # "account_id:rule" while the alert is not resolved, NULL after: one open alert per pair.
    open_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    escalate_at: Mapped[datetime | None]  # deadline for an acknowledgement
    escalated_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_alert_status_owner", "status", "owner"),
        Index("ix_alert_account_rule", "account_id", "rule"),
    )


class AlertHistory(Base):
    """One change of an alert: what happened, from which status to which, who and when."""

    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_alert_history_alert", "alert_id", "at"),)


class AlertDelivery(Base):
    """An outbox row: one message to send on one channel, written with the decision to send."""

    __tablename__ = "alert_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # opened, escalated, reminder, digest
    channel: Mapped[str] = mapped_column(String(16))  # email, slack, webhook
    target: Mapped[str] = mapped_column(String(320))  # address, "slack", webhook endpoint name
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    html_body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))

    __table_args__ = (Index("ix_alert_delivery_due", "status", "next_attempt_at"),)
