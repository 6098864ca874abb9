"""The loyalty programme as data: rules, tiers, expiry, rewards, badges, streaks, challenges.

A programme is validated with pydantic; `load_program_file` turns any problem into an
InputError naming the file and the field, so `tenure loyalty program load` can say exactly
what to fix. The packaged B2B programme is `default_program.toml` next to this module.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenure.errors import InputError
from tenure.money import ISO_4217

DEFAULT_PROGRAM = Path(__file__).with_name("default_program.toml")
FACTS = ("seats", "mrr", "tenure_days", "health_score")
REWARD_KINDS = ("service_credit", "renewal_discount", "premium_support", "training", "swag")
AWARD_TO = ("account", "contact", "both")
TIER_BASES = ("points", "mrr")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EarningRule(_Strict):
    """Points for an event (by name) or for an account fact reaching a level."""

    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    points: int = Field(gt=0, le=1_000_000)
    event: str | None = Field(default=None, min_length=1, max_length=255)
    fact: Literal["seats", "mrr", "tenure_days", "health_score", "paid_invoice"] | None = None
    at_least: float | None = None
    first_time_only: bool = False
    max_per_account: int | None = Field(default=None, gt=0)
    max_per_month: int | None = Field(default=None, gt=0)
    cooldown_days: int = Field(default=0, ge=0, le=3660)
    award_to: Literal["account", "contact", "both"] = "account"
    max_per_contact: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> EarningRule:
        if (self.event is None) == (self.fact is None):
            raise ValueError("give exactly one of 'event' or 'fact'")
        if self.fact is not None and self.at_least is None:
            raise ValueError("a fact rule needs 'at_least'")
        repeats = not self.first_time_only and self.fact != "paid_invoice"  # once per invoice
        if self.fact is not None and repeats and self.cooldown_days < 1:
            raise ValueError("a repeating fact rule needs cooldown_days ≥ 1 (or first_time_only)")
        if self.fact is not None and self.award_to != "account":
            raise ValueError("a fact rule has no contact: award_to must be 'account'")
        if self.max_per_contact is not None and self.award_to == "account":
            raise ValueError("max_per_contact needs award_to = 'contact' or 'both'")
        return self

    @property
    def lifetime_cap(self) -> int | None:
        """Return the most times one account may earn this rule (None: no limit)."""
        return 1 if self.first_time_only else self.max_per_account

    @property
    def to_account(self) -> bool:
        """Return whether the rule credits the company wallet."""
        return self.award_to != "contact"

    @property
    def to_contact(self) -> bool:
        """Return whether the rule also (or only) credits the wallet of the event's contact."""
        return self.award_to != "account"

    def for_contact(self) -> EarningRule:
        """Return the rule as the contact wallet applies it: its caps counted per contact."""
        return self.model_copy(update={"max_per_account": self.max_per_contact})


class Tier(_Strict):
    """A tier reached by qualifying points over 12 months, or by MRR in force."""

    key: str = Field(min_length=1, max_length=32)
    name: str
    qualifying_points: int | None = Field(default=None, ge=0)
    qualifying_mrr: int | None = Field(default=None, ge=0, description="reporting minor units")
    benefits: list[str] = Field(default_factory=list)


class Reward(_Strict):
    """A catalogue item: its price in points and the stock loaded with the programme."""

    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=255)
    kind: Literal["service_credit", "renewal_discount", "premium_support", "training", "swag"]
    points: int = Field(gt=0)
    stock: int = Field(ge=0)
    description: str = ""


class Badge(_Strict):
    """A milestone: a rule earned `count` times, lifetime points, a streak, or a challenge."""

    key: str = Field(min_length=1, max_length=64)
    name: str
    rule: str | None = None
    count: int = Field(default=1, gt=0)
    lifetime_points: int | None = Field(default=None, gt=0)
    streak_weeks: int | None = Field(default=None, gt=0, le=520)
    challenge: str | None = None

    @model_validator(mode="after")
    def _one_goal(self) -> Badge:
        goals = (self.rule, self.lifetime_points, self.streak_weeks, self.challenge)
        if sum(goal is not None for goal in goals) != 1:
            raise ValueError(
                "give exactly one of 'rule' (with 'count'), 'lifetime_points', "
                "'streak_weeks' or 'challenge'"
            )
        return self


class Streak(_Strict):
    """What makes a week active: at least `min_events` events (of `events`, or of any name)."""

    min_events: int = Field(default=1, gt=0, le=100_000)
    events: list[str] = Field(default_factory=list)
    lookback_weeks: int = Field(default=104, ge=2, le=520)


class Challenge(_Strict):
    """A time-boxed goal: `count` events (or distinct event names) between two days."""

    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=255)
    starts_on: date
    ends_on: date
    events: list[str] = Field(min_length=1)
    count: int = Field(gt=0, le=1_000_000)
    distinct: bool = False
    points: int = Field(default=0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _sane(self) -> Challenge:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must be on or after starts_on")
        if self.distinct and self.count > len(set(self.events)):
            raise ValueError("a distinct challenge cannot need more names than it lists")
        return self


class Leaderboard(_Strict):
    """Rank the opted-in contacts of one account by the rule points of their recent events."""

    window_days: int = Field(default=30, ge=1, le=366)
    size: int = Field(default=10, ge=1, le=100)


class Program(_Strict):
    """A whole loyalty programme."""

    name: str = Field(min_length=1, max_length=255)
    currency: str = "USD"
    point_value_minor: float = Field(gt=0, description="value of one point in minor units")
    expiry_months: int = Field(default=12, ge=1, le=120)
    tier_review_months: int = Field(default=12, ge=1, le=36)
    approval_threshold: int = Field(gt=0, description="redemptions above it wait for a manager")
    holdout_fraction: float = Field(default=0.2, ge=0, lt=1)
    starts_on: date | None = None
    tier_basis: Literal["points", "mrr"] = "points"
    rules: list[EarningRule] = Field(min_length=1)
    tiers: list[Tier] = Field(min_length=1)
    rewards: list[Reward] = Field(default_factory=list)
    badges: list[Badge] = Field(default_factory=list)
    streak: Streak = Field(default_factory=Streak)
    challenges: list[Challenge] = Field(default_factory=list)
    leaderboard: Leaderboard = Field(default_factory=Leaderboard)

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        if self.currency not in ISO_4217:
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        for label, keys in (("rules", [r.key for r in self.rules]),
                            ("rewards", [r.key for r in self.rewards]),
                            ("tiers", [t.key for t in self.tiers]),
                            ("badges", [b.key for b in self.badges]),
                            ("challenges", [c.key for c in self.challenges])):  # fmt: skip
            if len(set(keys)) != len(keys):
                raise ValueError(f"{label}: keys must be unique, got {keys}")
        self._check_levels()
        rules = {r.key for r in self.rules}
        challenges = {c.key for c in self.challenges}
        for badge in self.badges:
            if badge.rule is not None and badge.rule not in rules:
                raise ValueError(f"badge {badge.key!r} names the unknown rule {badge.rule!r}")
            if badge.challenge is not None and badge.challenge not in challenges:
                raise ValueError(
                    f"badge {badge.key!r} names the unknown challenge {badge.challenge!r}"
                )
        return self

    def _check_levels(self) -> None:
        """Check that each tier has the basis' level, from 0 and strictly increasing."""
        field = self.level_field
        levels = [getattr(t, field) for t in self.tiers]
        if any(level is None for level in levels):
            raise ValueError(f"tiers: every tier needs {field} (tier_basis = {self.tier_basis!r})")
        if levels[0] != 0 or levels != sorted(set(levels)):
            raise ValueError(f"tiers: {field} must start at 0 and strictly increase")

    @property
    def level_field(self) -> str:
        """Return the tier field the programme qualifies on (qualifying_points or _mrr)."""
        return "qualifying_mrr" if self.tier_basis == "mrr" else "qualifying_points"

    def level(self, tier: Tier) -> int:
        """Return what a tier needs on the programme's basis (points, or MRR minor units)."""
        return int(getattr(tier, self.level_field) or 0)

    def tier_for(self, qualifying: int) -> Tier:
        """Return the highest tier whose qualifying level (points or MRR) is reached."""
        return [t for t in self.tiers if self.level(t) <= qualifying][-1]

    def next_tier(self, tier_key: str) -> Tier | None:
        """Return the tier above tier_key (None at the top)."""
        keys = [t.key for t in self.tiers]
        index = keys.index(tier_key) if tier_key in keys else 0
        return self.tiers[index + 1] if index + 1 < len(self.tiers) else None


def _where(loc: tuple[Any, ...]) -> str:
    """Return a pydantic location as a TOML path: rules[2].points."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def parse_program(document: dict[str, Any], source: str) -> Program:
    """Return the validated programme; raise InputError naming source and each bad field."""
    try:
        return Program.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{source}: invalid loyalty programme: {problems}") from None


def load_program_file(path: Path) -> tuple[Program, dict[str, Any]]:
    """Read and validate a programme TOML file; return it and its document."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    return parse_program(document, str(path)), document
