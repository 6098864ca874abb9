"""A play as data: the TOML a user writes, validated with pydantic (clear field errors)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenure.errors import InputError

DEFAULTS_FILE = Path(__file__).with_name("default_plays.toml")


class Strict(BaseModel):
    """A part of a play file: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class Trigger(Strict):
    """Which accounts a play considers on a day."""

    kind: Literal["health_tier", "churn_risk", "alert", "segment", "renewal_window", "manual"]
    tiers: list[str] = Field(default_factory=list)  # health_tier / churn_risk
    rule: str | None = None  # alert rule name
    segment: str | None = None
    days_before: int = Field(60, ge=1, le=365)  # renewal_window


class Eligibility(Strict):
    """Who may enter: a segment, a cool-down and a cap on concurrent plays per account."""

    segment: str | None = None
    cooldown_days: int = Field(30, ge=0, le=3650)
    max_concurrent: int = Field(2, ge=1, le=20)


class TaskAction(Strict):
    """Create a CSM task for the account's owner."""

    kind: Literal["task"]
    title: str = Field(min_length=1, max_length=255)
    due_in_days: int = Field(3, ge=0, le=365)
    checklist: list[str] = Field(default_factory=list)
    minutes: int = Field(30, ge=0, le=10_000)  # CSM time the task costs


class OfferAction(Strict):
    """Grant a discount, credit or extended trial; above the limit it waits for approval."""

    kind: Literal["offer"]
    offer: Literal["discount", "credit", "extended_trial"]
    value: int = Field(ge=0)  # reporting minor units
    approval_limit: int = Field(0, ge=0)


class WebhookAction(Strict):
    """Call a configured webhook with a CRM-shaped payload (through the outbox)."""

    kind: Literal["webhook"]
    endpoint: str = Field(min_length=1, max_length=64)


class JourneyAction(Strict):
    """Enrol the account's contacts in a messaging journey."""

    kind: Literal["journey"]
    journey: str = Field(min_length=1, max_length=64)
    emails: int = Field(3, ge=0, le=100)  # emails the journey sends (for its cost)


Action = Annotated[
    TaskAction | OfferAction | WebhookAction | JourneyAction, Field(discriminator="kind")
]


class Goal(Strict):
    """What the play is for and when it is judged."""

    metric: Literal["retained", "mrr_kept"] = "retained"
    horizon_days: int = Field(90, ge=7, le=730)


class Cost(Strict):
    """What the play's actions cost, in reporting minor units."""

    csm_hourly_rate: int = Field(6000, ge=0)
    email: int = Field(1, ge=0)


class PlayDefinition(Strict):
    """One play."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=255)
    description: str = ""
    trigger: Trigger
    eligibility: Eligibility = Field(default_factory=Eligibility)
    actions: list[Action] = Field(min_length=1)
    goal: Goal = Field(default_factory=Goal)
    cost: Cost = Field(default_factory=Cost)
    holdout_fraction: float = Field(0.1, ge=0.0, le=0.5)
    holdout_reason: str | None = None

    @model_validator(mode="after")
    def _holdout_needs_reason(self) -> PlayDefinition:
        if self.holdout_fraction == 0 and not (self.holdout_reason or "").strip():
            raise ValueError("holdout_fraction 0 needs a written holdout_reason")
        return self


def _field_errors(path: Path, exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{path}: {where}: {error['msg']}")
    return "\n".join(parts)


def read_plays(path: Path) -> list[PlayDefinition]:
    """Read a TOML file of `[[play]]` tables; raise InputError naming the file and field."""
    try:
        document: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc
    entries = document.get("play")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: expected one or more [[play]] tables")
    plays = []
    for index, entry in enumerate(entries):
        try:
            plays.append(PlayDefinition.model_validate(entry))
        except ValidationError as exc:
            raise InputError(_field_errors(Path(f"{path} [[play]] #{index + 1}"), exc)) from exc
    keys = [p.key for p in plays]
    if len(set(keys)) != len(keys):
        raise InputError(f"{path}: play keys must be unique, got {keys}")
    return plays
