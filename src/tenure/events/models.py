"""The event inbox and the identity links that let inbox events of unknown users find their account.

Events acknowledged over HTTP wait in the inbox until the pipeline moves them. An event whose
account is not known yet (no explicit account, a user no contact or link names) is *held*: its
`account_external_id` is NULL until a group call, an alias or a contacts import links its user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


class InboxEvent(Base):
    """One product-usage event, unique on message_id."""

    __tablename__ = "event_inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_external_id: Mapped[str | None] = mapped_column(String(128))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    contact_external_id: Mapped[str | None] = mapped_column(String(128))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]
    synced_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_event_inbox_unsynced", "synced_at", "id"),
        Index("ix_event_inbox_contact", "contact_external_id"),
    )


class IdentityLink(Base):
    """What a tracked user id is linked to: an account (group call) and another id (alias)."""

    __tablename__ = "identity_link"

    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_external_id: Mapped[str | None] = mapped_column(String(128))
    alias_of: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime]


class RecentEvent(Base):
    """A serving copy of one of an account's latest warehouse events (kept by the pipeline)."""

    __tablename__ = "account_recent_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(128))
    contact_external_id: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_account_recent_event_account_ts", "account_id", "ts"),)


class EventDailyCounts(Base):
    """An account's daily counts of one event name over the serving window (ISO day → count)."""

    __tablename__ = "account_event_daily"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total: Mapped[int] = mapped_column(Integer)
