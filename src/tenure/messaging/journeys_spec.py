"""Journeys as data: the validated shape of a journey file (TOML or JSON) and its loader.

A file holds `[[journey]]` tables. Each has a key, an entry trigger, ordered steps (send, wait,
branch, task, webhook, exit), goals that end it early, a re-entry rule and a holdout share.
Every error names the file, the journey and the field.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenure.errors import InputError

KEY = r"^[a-z0-9][a-z0-9_-]{0,63}$"
WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- entry triggers ------------------------------------------------------------------------


class SegmentEntry(_Strict):
    """Enter when an account joins a segment (between two evaluated dates)."""

    kind: Literal["segment_entry"]
    segment: str = Field(min_length=1)
    within_days: int = Field(default=7, ge=1, le=90)


class EventTrigger(_Strict):
    """Enter when an event of this name arrives (inbox or recent events)."""

    kind: Literal["event"]
    event: str = Field(min_length=1, max_length=128)
    within_days: int = Field(default=7, ge=1, le=90)


class HealthTrigger(_Strict):
    """Enter when the health tier changes to `to`, or the score falls below `score_below`."""

    kind: Literal["health_tier"]
    to: str | None = None
    score_below: float | None = Field(default=None, ge=0, le=100)
    within_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode="after")
    def _one_condition(self) -> HealthTrigger:
        if (self.to is None) == (self.score_below is None):
            raise ValueError("give exactly one of `to` (a tier) or `score_below` (a score)")
        return self


class AlertTrigger(_Strict):
    """Enter when an alert of this rule opens on the account."""

    kind: Literal["alert"]
    rule: str = Field(min_length=1, max_length=64)
    within_days: int = Field(default=7, ge=1, le=90)


class ChurnRiskTrigger(_Strict):
    """Enter when the churn-risk tier changes to `to`."""

    kind: Literal["churn_risk"]
    to: Literal["low", "medium", "high"]
    within_days: int = Field(default=7, ge=1, le=90)


class RenewalTrigger(_Strict):
    """Enter `days_before` days before an annual renewal (within a few days' grace)."""

    kind: Literal["renewal"]
    days_before: int = Field(ge=0, le=365)
    within_days: int = Field(default=7, ge=1, le=90)


class LoyaltyTrigger(_Strict):
    """Enter on a loyalty moment: a tier up, points about to expire, a badge, a reward."""

    kind: Literal["loyalty_tier_up", "loyalty_points_expiring", "loyalty_badge",
                  "loyalty_reward_approved"]  # fmt: skip
    only: str | None = Field(default=None, max_length=64, description="a tier, badge or reward")
    days_before: int = Field(default=30, ge=1, le=365, description="points_expiring only")
    min_points: int = Field(default=1, ge=1, description="points_expiring only")
    within_days: int = Field(default=7, ge=1, le=90)


class ManualTrigger(_Strict):
    """Enter only by an explicit enrolment (CLI or API)."""

    kind: Literal["manual"]


Trigger = Annotated[
    SegmentEntry
    | EventTrigger
    | HealthTrigger
    | AlertTrigger
    | ChurnRiskTrigger
    | RenewalTrigger
    | LoyaltyTrigger
    | ManualTrigger,
    Field(discriminator="kind"),
]


# --- conditions (branches) and goals --------------------------------------------------------


class Condition(_Strict):
    """A branch test: the previous message opened/clicked, an event, a segment or a tier."""

    kind: Literal["opened", "clicked", "event", "segment", "health_tier", "churn_risk"]
    event: str | None = None
    segment: str | None = None
    tier: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> Condition:
        needed = {
            "event": "event",
            "segment": "segment",
            "health_tier": "tier",
            "churn_risk": "tier",
        }
        field = needed.get(self.kind)
        if field and not getattr(self, field):
            raise ValueError(f"a {self.kind} condition needs `{field}`")
        return self


class Goal(_Strict):
    """What counts as success: logins on N days in a row, an upgrade, or an event."""

    kind: Literal["event_streak", "upgraded", "event"]
    event: str | None = None  # event_streak: default the login events; event: required
    days: int = Field(default=3, ge=1, le=60)

    @model_validator(mode="after")
    def _needs_event(self) -> Goal:
        if self.kind == "event" and not self.event:
            raise ValueError("an event goal needs `event`")
        return self


# --- steps -----------------------------------------------------------------------------------


class Variant(_Strict):
    """One arm of a step's A/B test: a template version and its weight."""

    key: str = Field(pattern=KEY)
    template: str = Field(min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1)
    weight: float = Field(default=1.0, gt=0)


class SendStep(_Strict):
    """Send an email from a template (a pinned version), optionally A/B-tested."""

    id: str = Field(pattern=KEY)
    kind: Literal["send"]
    template: str | None = Field(default=None, min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1)
    variants: list[Variant] = Field(default_factory=list)

    @model_validator(mode="after")
    def _template_or_variants(self) -> SendStep:
        if (self.template is None) == (not self.variants):
            raise ValueError("give either `template` or two or more `variants`")
        if self.variants and len({v.key for v in self.variants}) != len(self.variants):
            raise ValueError("variant keys must be unique")
        if len(self.variants) == 1:
            raise ValueError("an A/B test needs two or more variants")
        return self


class WaitStep(_Strict):
    """Wait a duration, then (optionally) until a local time window in the contact's zone."""

    id: str = Field(pattern=KEY)
    kind: Literal["wait"]
    days: float = Field(default=0, ge=0, le=365)
    hours: float = Field(default=0, ge=0, le=24 * 365)
    until_window: str | None = Field(default=None, description="HH:MM-HH:MM, contact's local time")

    @model_validator(mode="after")
    def _something(self) -> WaitStep:
        if self.until_window is not None and not WINDOW.match(self.until_window):
            raise ValueError(f"until_window must be HH:MM-HH:MM, got {self.until_window!r}")
        if not (self.days or self.hours or self.until_window):
            raise ValueError("a wait needs days, hours or until_window")
        return self


class BranchStep(_Strict):
    """Go to `then` when the condition holds, else to `otherwise` (default: the next step)."""

    id: str = Field(pattern=KEY)
    kind: Literal["branch"]
    condition: Condition
    then: str
    otherwise: str | None = None


class TaskStep(_Strict):
    """Open a CSM task (an alert of kind `task`) on the contact's account."""

    id: str = Field(pattern=KEY)
    kind: Literal["task"]
    title: str = Field(min_length=1, max_length=200)
    severity: Literal["low", "medium", "high"] = "medium"


class WebhookStep(_Strict):
    """Call a configured webhook endpoint (alert_webhooks) through the outbox."""

    id: str = Field(pattern=KEY)
    kind: Literal["webhook"]
    endpoint: str = Field(min_length=1, max_length=64)


class ExitStep(_Strict):
    """End the journey for this contact."""

    id: str = Field(pattern=KEY)
    kind: Literal["exit"]


Step = Annotated[
    SendStep | WaitStep | BranchStep | TaskStep | WebhookStep | ExitStep,
    Field(discriminator="kind"),
]


class JourneySpec(_Strict):
    """One journey: trigger, steps, goals, re-entry and holdout."""

    key: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    trigger: Trigger
    steps: list[Step] = Field(min_length=1)
    goals: list[Goal] = Field(default_factory=list)
    goal_window_days: int = Field(default=30, ge=1, le=365)
    exit_on_churn: bool = True
    reentry: Literal["never", "after"] = "never"
    reentry_after_days: int | None = Field(default=None, ge=1, le=3650)
    holdout: float = Field(default=0.1, ge=0, le=0.9)
    audience: Literal["all", "first"] = "all"

    @model_validator(mode="after")
    def _consistent(self) -> JourneySpec:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"step ids must be unique, got {ids}")
        if (self.reentry == "after") != (self.reentry_after_days is not None):
            raise ValueError('reentry = "after" needs reentry_after_days (and only it)')
        for index, step in enumerate(self.steps):
            if isinstance(step, BranchStep):
                _check_targets(step, ids, index)
        return self

    def step(self, step_id: str) -> Step:
        """Return the step with this id."""
        return next(s for s in self.steps if s.id == step_id)

    def after(self, step_id: str) -> str | None:
        """Return the id of the step that follows step_id in order (None after the last)."""
        ids = [s.id for s in self.steps]
        index = ids.index(step_id)
        return ids[index + 1] if index + 1 < len(ids) else None


def _check_targets(step: BranchStep, ids: list[str], index: int) -> None:
    """Raise unless a branch jumps forward to existing steps (a step runs once: no loops)."""
    for target in (step.then, step.otherwise):
        if target is None:
            continue
        if target not in ids:
            raise ValueError(f"branch {step.id!r} goes to unknown step {target!r}")
        if ids.index(target) <= index:
            raise ValueError(f"branch {step.id!r} must go forward, not back to {target!r}")


class JourneyFile(_Strict):
    """A file of journeys."""

    journey: list[JourneySpec] = Field(min_length=1)


def _where(loc: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """Return a readable field path, naming the journey by its key when it has one."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if loc[:1] == ("journey",) and i == 1 and isinstance(part, int):
            key = _journey_key(raw, part)
            parts[-1] = f"journey[{key or part}]"
            continue
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]"
        elif (i > 0 and loc[i - 1] == "trigger") or (i > 1 and loc[i - 2] == "steps"):
            continue  # the discriminator's tag adds nothing to the path
        else:
            parts.append(str(part))
    return ".".join(parts)


def _journey_key(raw: dict[str, Any], index: int) -> str | None:
    journeys = raw.get("journey")
    if isinstance(journeys, list) and index < len(journeys) and isinstance(journeys[index], dict):
        key = journeys[index].get("key")
        return key if isinstance(key, str) else None
    return None


def parse_journeys(raw: Any, source: str) -> list[JourneySpec]:
    """Return the journeys of a parsed document; raise InputError naming source and field."""
    if not isinstance(raw, dict):
        raise InputError(f"{source}: expected a table with [[journey]] entries")
    try:
        parsed = JourneyFile.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_where(e['loc'], raw)}: {e['msg']}" for e in exc.errors()]
        raise InputError(f"{source}: " + "; ".join(problems)) from None
    keys = [j.key for j in parsed.journey]
    if len(set(keys)) != len(keys):
        raise InputError(f"{source}: journey keys must be unique, got {keys}")
    return parsed.journey


def read_journeys_file(path: Path) -> list[JourneySpec]:
    """Read and validate a TOML or JSON journeys file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the journeys file ({exc.strerror})") from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}") from None
    return parse_journeys(raw, str(path))
