"""App-DB models of auth: staff users, machine clients, write keys, tokens, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


class User(Base):
    """A staff member who logs in with email and password."""

    __tablename__ = "auth_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]


class ApiClient(Base):
    """A machine client using the OAuth2 client-credentials grant."""

    __tablename__ = "auth_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    secret_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class WriteKey(Base):
    """A Segment-style write key for the tracking endpoints (stored as a SHA-256 digest)."""

    __tablename__ = "auth_write_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class RefreshToken(Base):
    """A refresh token (SHA-256 digest); rotation chains tokens of one login in a family."""

    __tablename__ = "auth_refresh_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))  # user | client
    user_id: Mapped[int | None] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("auth_client.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_auth_refresh_token_family", "family"),)


class RevokedToken(Base):
    """An access token (by JWT id) revoked before it expired, e.g. on logout."""

    __tablename__ = "auth_revoked_token"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    family: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what to which target, when and from where; one link of a hash chain.

    Append only: hash is the SHA-256 of prev_hash (the previous entry's hash) followed by
    the entry's canonical JSON (tenure.privacy.chain). A unique prev_hash keeps the chain
    from forking.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class AuditChainHead(Base):
    """The one row naming the audit chain's newest entry (appends lock it, one at a time)."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    length: Mapped[int] = mapped_column(Integer, default=0)
    last_id: Mapped[int | None] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class StripeEvent(Base):
    """A Stripe webhook event already applied (idempotency on the event id)."""

    __tablename__ = "stripe_event"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime]
    received_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(255))
