"""The event inbox: events acknowledged over HTTP wait here until the pipeline moves them."""

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
    account_external_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    contact_external_id: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]
    synced_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_event_inbox_unsynced", "synced_at", "id"),)
