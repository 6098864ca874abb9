"""App-DB model of email-provider webhook events (idempotency and replay protection)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


class EmailProviderEvent(Base):
    """One webhook event an email provider posted; its id (and signing token) is seen once."""

    __tablename__ = "email_provider_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))  # mailgun
    event_key: Mapped[str] = mapped_column(String(160), unique=True)  # provider:event id
    token_key: Mapped[str] = mapped_column(String(160), unique=True)  # provider:signing token
    event: Mapped[str] = mapped_column(String(32))  # failed, complained, delivered...
    recipient: Mapped[str | None] = mapped_column(String(320))
    outcome: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
