"""A closed-loop policy file: how Tenure picks plays on the simulated book, and with what budget."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tenure.errors import InputError
from tenure.simulate.play_effects import DEFAULT_KINDS


class LoopBudget(BaseModel):
    """What each decision period may spend: CSM hours and offer spend (minor units)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    csm_hours: float | None = Field(None, ge=0)  # None: unlimited
    offer_spend: float | None = Field(None, ge=0)

    def scaled(self, factor: float) -> tuple[float, float]:
        """Return (CSM hours, offer spend) times factor; unlimited budgets are infinite."""
        hours = math.inf if self.csm_hours is None else self.csm_hours * factor
        spend = math.inf if self.offer_spend is None else self.offer_spend * factor
        return hours, spend


class LoopPolicy(BaseModel):
    """Which ranking chooses the plays, how often, for whom, with what budget and holdout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ranking: Literal["uplift", "churn", "random", "oracle"]
    budget: LoopBudget = Field(default_factory=LoopBudget)
    holdout_share: float = Field(0.1, ge=0.0, le=0.9)
    cadence_days: int = Field(30, ge=1, le=365)
    first_decision_day: int = Field(30, ge=0)  # days into the window (signals need a warm-up)
    at_risk_share: float = Field(0.3, gt=0.0, le=1.0)  # top share of the book by churn score
    horizon_days: int = Field(90, ge=7, le=365)  # outcome: retained this many days later
    cooldown_days: int = Field(90, ge=0, le=730)  # no new decision for an account in between
    csm_hourly_rate: int = Field(6000, ge=0)  # minor units
    email_cost: int = Field(1, ge=0)
    plays: list[str] = Field(default_factory=list)  # play kinds offered (default: all)
    min_rows: int = Field(100, ge=10)  # treated runs a play needs before its model replaces TS
    learner: Literal["pooled", "shared_control"] = "pooled"  # the plays' uplift model
    history: str | None = None  # a previous run's play_truth.parquet (past plays, holdouts)

    @model_validator(mode="after")
    def _cooldown_covers_horizon(self) -> LoopPolicy:
        if self.cooldown_days < self.horizon_days:
            raise ValueError("cooldown_days must be at least horizon_days (one play per horizon)")
        return self

    @field_validator("plays")
    @classmethod
    def _known_plays(cls, names: list[str]) -> list[str]:
        known = {k.name for k in DEFAULT_KINDS}
        unknown = sorted(set(names) - known)
        if unknown:
            raise ValueError(f"unknown plays {unknown}; known: {sorted(known)}")
        return names

    def history_path(self, base: Path) -> Path | None:
        """Return the history file, relative paths taken from the policy file's folder."""
        if self.history is None:
            return None
        path = Path(self.history)
        return path if path.is_absolute() else base / path


def read_policy(path: Path) -> LoopPolicy:
    """Read a policy TOML (history made absolute); InputError names the file and field."""
    try:
        document: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"--policy {path}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"--policy {path}: not valid TOML: {exc}") from exc
    try:
        policy = LoopPolicy.model_validate(document)
    except ValidationError as exc:
        lines = [
            f"--policy {path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        ]
        raise InputError("\n".join(lines)) from exc
    history = policy.history_path(path.parent)
    if history is None:
        return policy
    if not history.is_file():
        raise InputError(f"--policy {path}: history {history}: no such file")
    return policy.model_copy(update={"history": str(history.resolve())})
