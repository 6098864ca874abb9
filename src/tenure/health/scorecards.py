"""Scorecards as data: validated definitions, TOML files, and the stored set (service API)."""

from __future__ import annotations

import tomllib
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.errors import InputError, NotFound, StateConflict
from tenure.health.defaults import DEFAULT_SCORECARDS_TOML
from tenure.health.models import Scorecard

LifecycleStage = Literal["onboarding", "adoption", "renewal"]

# Measure kinds a scorecard can use: name → (what the value is, whether higher is healthier).
MEASURE_KINDS: dict[str, tuple[str, bool]] = {
    "usage_depth": ("events per seat in the last 30 days", True),
    "usage_breadth": ("distinct features (event names) used in the last 30 days", True),
    "login_recency": ("days since the last login event", False),
    "seat_utilisation": ("active users in the last 30 days ÷ paid seats", True),
    "usage_trend": ("events in the last 30 days ÷ the 30 days before, minus 1", True),
    "support_load": ("tickets opened in 30 days plus open ones, weighted by priority", False),
    "csat": ("mean CSAT (1–5) of tickets and surveys in the last 90 days", True),
    "nps": ("mean NPS answer (0–10) in the last 180 days", True),
    "billing_health": ("failed payments plus MRR downgrades in the last 90 days", False),
    "churn_probability": ("churn probability of the latest churn score (≤ 35 days old)", False),
}


class MeasureSpec(BaseModel):
    """One weighted measure and how its value becomes a 0–100 score."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    kind: str | None = Field(default=None, description="measure kind; defaults to name")
    weight: float = Field(gt=0)
    thresholds: list[tuple[float, float]] | None = None
    percentile: bool = False

    @model_validator(mode="after")
    def _check(self) -> MeasureSpec:
        kind = self.kind or self.name
        if kind not in MEASURE_KINDS:
            raise ValueError(f"unknown measure kind {kind!r}; kinds are {', '.join(MEASURE_KINDS)}")
        self.kind = kind
        if self.percentile == bool(self.thresholds):
            raise ValueError(f"measure {self.name!r}: give either thresholds or percentile = true")
        if self.thresholds:
            xs = [x for x, _ in self.thresholds]
            if any(b <= a for a, b in pairwise(xs)):
                raise ValueError(f"measure {self.name!r}: threshold values must increase")
            if any(not 0 <= s <= 100 for _, s in self.thresholds):
                raise ValueError(f"measure {self.name!r}: threshold scores must be within 0–100")
        return self

    @property
    def higher_is_better(self) -> bool:
        """Return whether a higher value is healthier (used by percentile scoring)."""
        return MEASURE_KINDS[self.kind or self.name][1]


class TierSpec(BaseModel):
    """A tier and the highest (rounded) score it covers."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=32)
    max: float = Field(ge=0, le=100)


DEFAULT_TIERS = [
    TierSpec(name="red", max=50),
    TierSpec(name="yellow", max=75),
    TierSpec(name="green", max=100),
]


class AppliesTo(BaseModel):
    """Which accounts a scorecard is for: lifecycle stages and/or a rule segment."""

    model_config = ConfigDict(extra="forbid")

    lifecycle: list[LifecycleStage] = Field(default_factory=list)
    segment: str | None = None

    @property
    def is_catch_all(self) -> bool:
        """Return True when the scorecard applies to every account."""
        return not self.lifecycle and self.segment is None


class ScorecardDefinition(BaseModel):
    """A scorecard: weighted measures, tiers, and the accounts it applies to."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    priority: int = 100
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    measures: list[MeasureSpec] = Field(alias="measure", min_length=1)
    tiers: list[TierSpec] = Field(default_factory=lambda: list(DEFAULT_TIERS), alias="tier")

    @model_validator(mode="after")
    def _check(self) -> ScorecardDefinition:
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise ValueError(f"scorecard {self.name!r}: measure names must be unique")
        bounds = [t.max for t in self.tiers]
        if any(b <= a for a, b in pairwise(bounds)) or bounds[-1] != 100:
            raise ValueError(
                f"scorecard {self.name!r}: tier maxima must increase and the last must be 100"
            )
        return self

    def to_json(self) -> dict[str, Any]:
        """Return the definition as JSON-ready data (the shape files and the API use)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def tier_of(self, score: float) -> str:
        """Return the tier of a score (rounded to a whole point)."""
        rounded = round(score)
        return next(t.name for t in self.tiers if rounded <= t.max)


def parse_definition(data: dict[str, Any], where: str = "scorecard") -> ScorecardDefinition:
    """Validate one scorecard's data; raise InputError naming the field at fault."""
    try:
        return ScorecardDefinition.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'scorecard'}: {e['msg']}" for e in exc.errors()
        ]
        raise InputError(f"invalid {where}: " + "; ".join(problems[:10])) from None


def parse_toml(text: str, where: str = "scorecards file") -> list[ScorecardDefinition]:
    """Parse a TOML document of `[[scorecard]]` tables."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where} is not valid TOML: {exc}") from None
    tables = data.get("scorecard")
    if not isinstance(tables, list) or not tables:
        raise InputError(f"{where} has no [[scorecard]] tables")
    cards = [parse_definition(t, f"{where}, scorecard #{i + 1}") for i, t in enumerate(tables)]
    names = [c.name for c in cards]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: scorecard names must be unique")
    return cards


def default_scorecards() -> list[ScorecardDefinition]:
    """Return the scorecards Tenure ships."""
    return parse_toml(DEFAULT_SCORECARDS_TOML, "default scorecards")


def _ordered(cards: list[ScorecardDefinition]) -> list[ScorecardDefinition]:
    return sorted(cards, key=lambda c: (c.priority, c.name))


def list_scorecards(db_session: Session) -> list[ScorecardDefinition]:
    """Return the scorecards in force, by priority: the stored ones, or the defaults if none."""
    rows = db_session.scalars(select(Scorecard)).all()
    if not rows:
        return _ordered(default_scorecards())
    return _ordered([ScorecardDefinition.model_validate(r.definition) for r in rows])


def get_scorecard(db_session: Session, name: str) -> ScorecardDefinition:
    """Return one scorecard in force by name; raise NotFound."""
    for card in list_scorecards(db_session):
        if card.name == name:
            return card
    raise NotFound(f"no scorecard named {name!r}")


def _materialise_defaults(db_session: Session) -> None:
    """Store the defaults the first time the set is changed, so edits start from them."""
    if db_session.scalar(select(Scorecard.id).limit(1)) is None:
        for card in default_scorecards():
            _store(db_session, card)


def _store(db_session: Session, card: ScorecardDefinition) -> None:
    row = db_session.scalar(select(Scorecard).where(Scorecard.name == card.name))
    if row is None:
        row = Scorecard(name=card.name)
        db_session.add(row)
    row.priority = card.priority
    row.definition = card.to_json()
    row.updated_at = clock.now()
    db_session.flush()


def save_scorecard(
    db_session: Session, data: ScorecardDefinition | dict[str, Any]
) -> ScorecardDefinition:
    """Create or replace a scorecard by name; caller commits."""
    card = data if isinstance(data, ScorecardDefinition) else parse_definition(data)
    _materialise_defaults(db_session)
    _store(db_session, card)
    _check_catch_all(db_session)
    return card


def delete_scorecard(db_session: Session, name: str) -> None:
    """Delete a scorecard by name (NotFound if absent); caller commits."""
    _materialise_defaults(db_session)
    row = db_session.scalar(select(Scorecard).where(Scorecard.name == name))
    if row is None:
        raise NotFound(f"no scorecard named {name!r}")
    db_session.execute(delete(Scorecard).where(Scorecard.id == row.id))
    db_session.flush()
    _check_catch_all(db_session)


def _check_catch_all(db_session: Session) -> None:
    """Refuse a stored set in which some account would get no scorecard.

    The stored rows are checked, not list_scorecards: an emptied set would read as the
    defaults there, and a deleted default would come back.
    """
    rows = db_session.scalars(select(Scorecard)).all()
    cards = [ScorecardDefinition.model_validate(r.definition) for r in rows]
    if not any(c.applies_to.is_catch_all for c in cards):
        raise StateConflict("at least one scorecard must apply to every account (no applies_to)")


def load_scorecards_file(db_session: Session, path: Path) -> list[ScorecardDefinition]:
    """Create or replace the scorecards of a TOML file; caller commits."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read scorecards file {path}: {exc.strerror}") from None
    cards = parse_toml(text, str(path))
    for card in cards:
        save_scorecard(db_session, card)
    return cards
