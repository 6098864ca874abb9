"""App-DB models of messaging: templates, consent, suppression, journeys and sent messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, JSONType

TEMPLATE_KINDS = ("email", "layout", "partial")
TEMPLATE_FORMATS = ("mjml", "html")
PURPOSES = ("marketing", "transactional")
JOURNEY_STATUSES = ("active", "paused")
ENROLLMENT_STATUSES = ("active", "completed", "goal", "exited")
MESSAGE_STATUSES = ("queued", "sent", "failed", "bounced", "suppressed")


class MessageTemplate(Base):
    """One version of an email template, layout or partial; a journey step pins a version."""

    __tablename__ = "message_template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="email")
    format: Mapped[str] = mapped_column(String(16), default="html")
    subject: Mapped[str | None] = mapped_column(Text)
    preheader: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    layout: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16), default="marketing")
    topic: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (UniqueConstraint("name", "version"),)


class ContactConsent(Base):
    """One consent decision of a contact for a channel and purpose; the newest row holds."""

    __tablename__ = "contact_consent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # email, sms
    purpose: Mapped[str] = mapped_column(String(64))  # marketing, transactional, or a topic
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(32))  # import, preference_page, api, unsubscribe
    text_version: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_contact_consent_lookup", "contact_id", "channel", "purpose", "at"),)


class Suppression(Base):
    """An address no message may go to: hard bounce, complaint or a manual block."""

    __tablename__ = "suppression"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    reason: Mapped[str] = mapped_column(String(32))  # hard_bounce, complaint, manual
    source: Mapped[str] = mapped_column(String(64))  # smtp, webhook:<provider>, admin
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("email", "reason"),)


class Journey(Base):
    """A journey definition (steps, triggers, goals) loaded from TOML or JSON."""

    __tablename__ = "journey"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="active")
    holdout_fraction: Mapped[float] = mapped_column(Float, default=0.1)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class JourneyEnrollment(Base):
    """One contact's run through a journey: its arm (treated or holdout) and where it stands."""

    __tablename__ = "journey_enrollment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    run_no: Mapped[int] = mapped_column(Integer, default=1)
    arm: Mapped[str] = mapped_column(String(32))  # treated, holdout
    status: Mapped[str] = mapped_column(String(16), default="active")
    current_step: Mapped[str | None] = mapped_column(String(64))
    next_run_at: Mapped[datetime | None]
    trigger: Mapped[str | None] = mapped_column(String(128))
    entered_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("journey_id", "contact_id", "run_no"),
        Index("ix_journey_enrollment_due", "status", "next_run_at"),
        Index("ix_journey_enrollment_account", "account_id"),
    )


class JourneyStepRun(Base):
    """A step done for an enrollment; the unique key makes every step run exactly once."""

    __tablename__ = "journey_step_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("journey_enrollment.id", ondelete="CASCADE")
    )
    step_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # done, skipped, failed
    outcome: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("enrollment_id", "step_id"),)


class Message(Base):
    """One email to one contact (journey step, test send or report) and what became of it."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    to_email: Mapped[str] = mapped_column(String(320))
    template_name: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str | None] = mapped_column(String(64))
    journey_id: Mapped[int | None] = mapped_column(ForeignKey("journey.id", ondelete="SET NULL"))
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("journey_enrollment.id", ondelete="SET NULL")
    )
    step_id: Mapped[str | None] = mapped_column(String(64))
    variant: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    first_opened_at: Mapped[datetime | None]
    first_clicked_at: Mapped[datetime | None]
    opens: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    machine_opens: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_message_account", "account_id", "created_at"),
        Index("ix_message_contact", "contact_id", "created_at"),
        Index("ix_message_journey", "journey_id", "step_id"),
    )
