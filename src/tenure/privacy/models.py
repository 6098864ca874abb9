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
