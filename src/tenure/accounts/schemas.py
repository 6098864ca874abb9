"""What the account read model returns to the API and the dashboard (typed, no dicts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tenure.auth.roles import can
from tenure.config import Settings
from tenure.metrics.currency import FX_RATES, settings_rates
from tenure.money import minor_exponent
from tenure.privacy.masking import reveals

# Ids the API accepts: the largest integer a JSON number carries exactly (2**53 - 1); larger
# ones name no row (and would overflow SQLite).
MAX_ID = 2**53 - 1


@dataclass(frozen=True)
class Money:
    """The reporting currency and the fixed exchange rates MRR is converted with."""

    currency: str
    rates: Mapping[str, Decimal]

    @classmethod
    def default(cls) -> Money:
        """Return US dollars with the built-in rates (for callers without settings)."""
        return cls("USD", FX_RATES)

    @classmethod
    def from_settings(cls, settings: Settings) -> Money:
        """Return the reporting currency and rates configured in settings."""
        return cls(settings.reporting_currency.upper(), settings_rates(settings.fx_rates))

    @property
    def digits(self) -> int:
        """Return the currency's minor-unit exponent."""
        return minor_exponent(self.currency)

    def major(self, minor: float | int | None) -> float:
        """Return reporting-currency minor units as major units (0 for none)."""
        return round(float(minor or 0) / 10**self.digits, self.digits)


@dataclass(frozen=True)
class Reader:
    """Who reads the account book: role and email decide which alerts and events they see."""

    role: str
    email: str

    @property
    def sees_events(self) -> bool:
        """Tell whether the role may read product events."""
        return can(self.role, "events:read")

    def sees_people_of(self, account_owner: str | None) -> bool:
        """Tell whether the reader sees an account's emails, names and phones unmasked."""
        return reveals(self.role, self.email, account_owner)

    def sees_alert_people(self, alert_owner: str | None) -> bool:
        """Tell whether the reader sees the identifiers in an alert (its owner: the CSM)."""
        return reveals(self.role, self.email, alert_owner)

    @property
    def alerts_owner(self) -> str | None:
        """Return the owner a csm's alerts are limited to (None: every alert)."""
        return self.email if self.role == "csm" else None


SORTS = ("name", "mrr", "health", "churn", "created_at", "at_risk")


@dataclass
class AccountFilters:
    """Filters, sort and page of the account book (sort: a SORTS key, prefix - descending)."""

    q: str = ""
    tier: str = ""
    segment: str = ""
    owner: str = ""
    risk: str = ""
    mrr_min: float | None = None
    mrr_max: float | None = None
    sort: str = "name"
    limit: int = 50
    offset: int = 0

    @property
    def needs_mrr(self) -> bool:
        """Tell whether MRR must be joined for every account (it filters or sorts)."""
        key = self.sort.lstrip("-")
        return key in ("mrr", "at_risk") or self.mrr_min is not None or self.mrr_max is not None


@dataclass(frozen=True)
class AccountRow:
    """An account in the book with MRR in force (major units), latest health and churn risk."""

    id: int
    external_id: str
    name: str
    owner: str | None
    industry: str | None
    region: str | None
    created_at: datetime
    mrr: float
    health_score: float | None
    health_tier: str | None
    health_change: float | None
    churn_probability: float | None
    risk_tier: str | None

    @property
    def at_risk(self) -> float:
        """Return MRR at risk: MRR × churn probability (0 when unscored)."""
        return self.mrr * (self.churn_probability or 0.0)


@dataclass(frozen=True)
class AccountPage:
    """One page of the account book, the total matching and the score days read."""

    rows: list[AccountRow]
    total: int
    limit: int
    offset: int
    health_day: date | None = None
    churn_day: date | None = None


@dataclass(frozen=True)
class InForce:
    """An account's MRR in force on a day (reporting minor units) and the seats of those rows."""

    mrr: int
    seats: int


@dataclass(frozen=True)
class MrrPoint:
    """MRR in force (major units) on a day: a month-end (month index) or today (month None)."""

    day: date
    mrr: float
    month: int | None = None


@dataclass
class AccountView:
    """The 360 of one account: profile, MRR, scores, activity (rows are ORM objects, read-only)."""

    account: Any
    contacts: int
    plan: str | None
    seats: int
    currency: str
    mrr_now: float
    mrr_history: list[MrrPoint]
    subscriptions: list[Any]
    health_history: list[Any]
    churn_history: list[Any]
    events: list[Any] | None
    tickets: list[Any]
    alerts: list[Any] = field(default_factory=list)
    event_counts: list[Any] | None = None
    people: list[Any] = field(default_factory=list)  # contacts, masked unless the reader may see
    messages: list[Any] | None = None  # None: the reader may not see the account's messages

    @property
    def health(self) -> Any:
        """Return the latest health score, or None."""
        return self.health_history[-1] if self.health_history else None

    @property
    def churn(self) -> Any:
        """Return the latest churn score, or None."""
        return self.churn_history[-1] if self.churn_history else None


@dataclass(frozen=True)
class TierCounts:
    """The latest day's accounts per health tier (count, mean score) and per churn-risk tier."""

    health_day: date | None
    churn_day: date | None
    health: dict[str, dict[str, float]]
    risk: dict[str, int]
