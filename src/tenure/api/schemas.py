"""Response and request models of the API (pydantic v2)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenure.accounts.schemas import MAX_ID

# A character that is white space to none of the regex engines reading our patterns: Python's
# (str.strip, the services' checks), ECMAScript's (JSON Schema clients) and Rust's (pydantic).
NON_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"
EMAIL = rf"^[^@{NON_BLANK[2:-1]}]+@[^@{NON_BLANK[2:-1]}]+$"


class Page(BaseModel):
    """A page of a list: items with the total count of matches."""

    total: int
    limit: int
    offset: int


class AccountRow(BaseModel):
    """An account in the list, with its MRR, latest health and churn risk."""

    id: int
    external_id: str
    name: str
    owner: str | None
    industry: str | None
    region: str | None
    created_at: datetime
    mrr: float = Field(description="MRR running now, major units of the reporting currency")
    health_score: float | None
    health_tier: str | None
    churn_probability: float | None
    risk_tier: str | None


class AccountPage(Page):
    """A page of accounts."""

    items: list[AccountRow]


class HealthOut(BaseModel):
    """A health score (0–100) with its tier, measures and the reason it moved."""

    as_of: date
    scorecard: str
    score: float
    tier: str
    reason: str | None
    change_7d: float | None
    change_30d: float | None
    measures: dict[str, Any]


class ChurnOut(BaseModel):
    """A calibrated churn probability with its model version and reasons."""

    as_of: date
    probability: float
    risk_tier: str
    model_version: str
    horizon_days: int
    reasons: list[dict[str, Any]]


class ScoreOut(BaseModel):
    """The prediction for one account: latest health and churn probability."""

    account_id: int
    external_id: str
    health: HealthOut | None
    churn: ChurnOut | None


class ScoreBatchIn(BaseModel):
    """Accounts to score, by Tenure id and/or external (CRM) id."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list, max_length=1000)
    external_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, max_length=1000
    )


class ScoreBatchOut(BaseModel):
    """Scores of the accounts found, and the ids not found."""

    scores: list[ScoreOut]
    not_found: list[str]


class AccountMessageOut(BaseModel):
    """One message sent to an account's contact, as the account 360 lists it."""

    id: int
    template: str
    template_version: int
    to: str
    subject: str
    status: str = Field(description="queued, sent, failed, bounced or suppressed")
    created_at: datetime
    sent_at: datetime | None
    opens: int
    clicks: int
    journey: str | None = Field(description="Key of the journey that sent it, if any")


class Account360(BaseModel):
    """Everything known about one account."""

    profile: dict[str, Any]
    currency: str
    mrr_history: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    health: HealthOut | None
    health_history: list[dict[str, Any]]
    churn: ChurnOut | None
    churn_history: list[dict[str, Any]]
    recent_events: list[dict[str, Any]] | None = Field(
        description="Newest events of every source (the pipeline's serving copy and the API"
        " inbox); null when the role may not read events"
    )
    event_counts: list[dict[str, Any]] | None = Field(
        default=None,
        description="Per event name: total and daily counts (ISO day → count) over the serving"
        " window (`recent_events_days`); null when the role may not read events",
    )
    tickets: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    contacts: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The account's people (first 50 by name): external_id, name, email, role;"
        " masked (`j***@example.com`, `J*** D***`) unless the caller is an admin, a manager"
        " or the account's CSM",
    )
    messages: list[AccountMessageOut] | None = Field(
        default=None,
        description="Newest 50 messages to the account and its contacts; null when the role"
        " may not read messages (messages:read) or, for a csm, the account is not theirs",
    )


class AuditOut(BaseModel):
    """One audit-log entry."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    ip: str | None
    detail: dict[str, Any]


class AuditPage(Page):
    """A page of the audit log, newest first."""

    items: list[AuditOut]


class UserIn(BaseModel):
    """A staff user to create."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, pattern=EMAIL)
    password: str = Field(min_length=10, max_length=1024)
    role: Literal["admin", "manager", "csm", "analyst", "viewer"]


class UserOut(BaseModel):
    """A staff user (never the password hash)."""

    id: int
    email: str
    role: str
    active: bool
    locked_until: datetime | None
    last_login_at: datetime | None


class RejectedMessage(BaseModel):
    """A message of a tracking batch that was not stored, and why."""

    index: int
    message_id: str | None
    reason: str


class Accepted(BaseModel):
    """Acknowledgement of tracked events, after they are stored durably.

    held counts the accepted events still waiting for their user or account to be linked;
    rejected lists the messages of a batch that were not stored.
    """

    success: bool = True
    accepted: int
    duplicates: int
    held: int = 0
    rejected: list[RejectedMessage] = []


class WebhookOut(BaseModel):
    """What a Stripe webhook delivery did."""

    received: bool = True
    event_id: str
    outcome: str
    duplicate: bool
