"""API shapes of the loyalty programme (pydantic v2)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tenure.accounts.schemas import MAX_ID


class ExpiringPoints(BaseModel):
    """Points that expire on one day."""

    on: str
    points: int


class StreakOut(BaseModel):
    """Consecutive active weeks, as of the last pipeline run."""

    current_weeks: int
    longest_weeks: int
    last_active_week: str | None
    as_of: str | None


class ChallengeOut(BaseModel):
    """A challenge running today and the account's progress in it."""

    key: str
    name: str
    starts_on: str
    ends_on: str
    goal: int
    points: int
    progress: int
    completed: bool


class LeaderboardLineOut(BaseModel):
    """One opted-in contact on an account's leaderboard."""

    rank: int
    contact_id: int
    external_id: str
    name: str | None
    points: int
    events: int


class LeaderboardChoiceIn(BaseModel):
    """A contact's leaderboard choice."""

    model_config = ConfigDict(extra="forbid")

    opt_in: bool


class LeaderboardChoiceOut(BaseModel):
    """A contact's recorded leaderboard choice."""

    contact_id: int
    external_id: str
    opt_in: bool


class ContactBalanceOut(BaseModel):
    """A contact's wallet, as listed on their account."""

    contact_id: int
    external_id: str
    name: str | None
    balance: int


class ContactLedgerLineOut(BaseModel):
    """One movement of a contact's points."""

    id: int
    kind: str
    points: int
    rule: str | None
    reason: str | None
    occurred_at: str
    written_off: int


class LoyaltyContactOut(BaseModel):
    """A contact's wallet: balance, points expiring within 30 days and recent movements."""

    contact_id: int
    account_id: int
    external_id: str
    name: str | None
    balance: int
    expiring_30d: int
    ledger: list[ContactLedgerLineOut] = Field(description="the last 20 movements, newest first")


class LoyaltyAccountOut(BaseModel):
    """An account's loyalty summary."""

    account_id: int
    external_id: str
    arm: str | None = Field(description="member, holdout, or null before enrolment")
    balance: int
    tier: str
    tier_basis: str = Field(description="points (12-month qualifying points) or mrr")
    qualifying_points: int
    qualifying_mrr: int | None = Field(description="MRR in force, reporting minor units (mrr)")
    next_tier: str | None
    points_to_next_tier: int | None
    mrr_to_next_tier: int | None
    tier_review_on: str | None
    badges: list[str]
    expiring: list[ExpiringPoints] = Field(description="points expiring in the next 30 days")
    streak: StreakOut
    challenges: list[ChallengeOut] = Field(description="challenges running today, with progress")
    contacts: list[ContactBalanceOut] = Field(description="the contacts' own wallets")


class LedgerLineOut(BaseModel):
    """One movement of an account's points."""

    id: int
    kind: str
    points: int
    rule: str | None
    reason: str | None
    occurred_at: str
    posted_at: str
    written_off: int


class RewardOut(BaseModel):
    """A catalogue item."""

    key: str
    name: str
    kind: str
    points: int
    stock: int


class RedemptionIn(BaseModel):
    """A request to redeem a reward for a member account."""

    model_config = ConfigDict(extra="forbid")

    account_id: int = Field(ge=1, le=MAX_ID)  # exact in JSON numbers (accounts.schemas)
    reward_key: str = Field(min_length=1, max_length=64)


class RedemptionOut(BaseModel):
    """A redemption: fulfilled, pending approval, or rejected."""

    id: int
    account_id: int
    reward_key: str
    points: int
    status: str
    requested_at: str
    decided_by: str | None


class DecisionIn(BaseModel):
    """A manager's note on an approval or rejection."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=1000)
