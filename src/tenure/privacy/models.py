"""App-DB models of privacy: secrets stored encrypted at rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


class StoredSecret(Base):
    """A webhook or SMTP secret, Fernet-encrypted with the newest of TENURE_SECRET_KEYS.

    public holds what is not secret (a webhook's url, an SMTP username); ciphertext the rest.
    """

    __tablename__ = "stored_secret"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook | smtp
    public: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]


class PrivacyRequest(Base):
    """A subject-access export or an erasure, with its status and what it did (report)."""

    __tablename__ = "privacy_request"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # erasure | export
    subject: Mapped[str] = mapped_column(String(64))  # contact:<id> | account:<id>
    subject_digest: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # running | done | failed
    requested_by: Mapped[str] = mapped_column(String(255))
    requested_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ErasedIdentifier(Base):
    """The SHA-256 of an erased email or external id: imports and events for it are refused."""

    __tablename__ = "erased_identifier"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # email | contact | account
    request_id: Mapped[str] = mapped_column(String(36))
    erased_at: Mapped[datetime]
