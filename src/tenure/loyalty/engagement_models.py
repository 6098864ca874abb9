"""App-DB models of the programme's engagement layer: streaks, challenges, leaderboards, tiers.

The pipeline's loyalty stage computes streaks, challenge progress and contact scores over the
warehouse (set-based) and replaces these serving rows; the server reads only these. Leaderboard
opt-ins are written by people (API, CLI) and never by the pipeline. Tier changes are kept so
journeys can greet a promotion.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


class LoyaltyStreak(Base):
    """A member account's run of consecutive active weeks as of a day."""

    __tablename__ = "loyalty_streak"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    current_weeks: Mapped[int] = mapped_column(Integer)
    longest_weeks: Mapped[int] = mapped_column(Integer)
    last_active_week: Mapped[date | None] = mapped_column(Date)
    as_of: Mapped[date] = mapped_column(Date)


class LoyaltyChallengeProgress(Base):
    """How far a member account got in a time-boxed challenge, and when it completed it."""

    __tablename__ = "loyalty_challenge_progress"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    challenge: Mapped[str] = mapped_column(String(64), primary_key=True)
    progress: Mapped[int] = mapped_column(Integer)
    goal: Mapped[int] = mapped_column(Integer)
    completed_at: Mapped[datetime | None]
    as_of: Mapped[date] = mapped_column(Date)


class LoyaltyContactScore(Base):
    """A contact's programme points over the leaderboard window (what ranks the leaderboard)."""

    __tablename__ = "loyalty_contact_score"
    __table_args__ = (Index("ix_loyalty_contact_score_account", "account_id"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    points: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)


class LoyaltyLeaderboardOptIn(Base):
    """A contact's choice to appear on their account's leaderboard (absent: not shown)."""

    __tablename__ = "loyalty_leaderboard_optin"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    opted_in: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime]
    changed_by: Mapped[str | None] = mapped_column(String(255))


class LoyaltyTierChange(Base):
    """A wallet moving between tiers on a day (promotions and demotions)."""

    __tablename__ = "loyalty_tier_change"
    __table_args__ = (Index("ix_loyalty_tier_change_day", "changed_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    from_tier: Mapped[str | None] = mapped_column(String(32))
    to_tier: Mapped[str] = mapped_column(String(32))
    promoted: Mapped[bool] = mapped_column(Boolean)
    changed_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime]
