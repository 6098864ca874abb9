"""App-DB models of segments and their membership history by date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base

SEGMENT_KINDS = ("rule", "cluster", "grid")


class Segment(Base):
    """A named group of accounts: a rule, a behavioural cluster or a grid cell."""

    __tablename__ = "segment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    rule: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="rule")
    created_at: Mapped[datetime]


class SegmentMembership(Base):
    """That an account belonged to a segment as of a date."""

    __tablename__ = "segment_membership"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
