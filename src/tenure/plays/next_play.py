"""Explanation → play: map an account's churn drivers and health reasons to plays, then rank them.

Pure: values in, values out. Expected value = measured effect × MRR × remaining lifetime − cost
(effect and lifetime from the play's treated-vs-holdout measurement); a play not yet measured
has no expected value and is ranked by its place in the mapping.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenure.errors import InputError

DEFAULT_MAP_FILE = Path(__file__).with_name("default_play_map.toml")
NOT_MEASURED = "not measured against its holdout yet: ranked by the mapping's order"


class MapEntry(BaseModel):
    """One line of the mapping: which drivers and conditions call for which play."""

    model_config = ConfigDict(extra="forbid")

    when: str = Field(min_length=1, max_length=120)
    play: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    churn_features: list[str] = Field(default_factory=list)
    health_measures: list[str] = Field(default_factory=list)
    alert_kinds: list[str] = Field(default_factory=list)
    health_tiers: list[str] = Field(default_factory=list)
    renewal_within_days: int | None = Field(None, ge=1, le=730)

    @property
    def has_drivers(self) -> bool:
        """Return whether the entry names any driver (else its conditions alone decide)."""
        return bool(self.churn_features or self.health_measures or self.alert_kinds)


class PlayMap(BaseModel):
    """The whole mapping, in order, and the score below which a health measure is weak."""

    model_config = ConfigDict(extra="forbid")

    weak_score: float = Field(40.0, ge=0, le=100)
    entries: list[MapEntry] = Field(alias="map", min_length=1)


def read_play_map(path: Path | None = None) -> PlayMap:
    """Read a mapping TOML file (the packaged one when path is None); InputError names the field."""
    path = path or DEFAULT_MAP_FILE
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such play map file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    try:
        return PlayMap.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise InputError(f"{path}: {where}: {error['msg']}") from None


@dataclass(frozen=True)
class AccountSignals:
    """What is known of one account today: MRR (major units), risk, health and open alerts.

    churn_reasons: [{"feature", "text", "contribution"}]; health_measures: {name: {"score"}};
    alerts: [(kind, text)].
    """

    account_id: int
    mrr: float
    churn_probability: float | None = None
    churn_reasons: list[dict[str, Any]] = field(default_factory=list)
    health_tier: str | None = None
    health_measures: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: list[tuple[str, str]] = field(default_factory=list)
    days_to_renewal: int | None = None


@dataclass(frozen=True)
class PlayValue:
    """A loaded play's measured effect, the lifetime it implies and its cost per account."""

    key: str
    name: str
    effect: float | None
    lifetime_months: float | None
    cost: float  # reporting major units per treated account

    @property
    def measured(self) -> bool:
        """Return whether effect and lifetime were measured against a holdout."""
        return self.effect is not None and self.lifetime_months is not None


@dataclass
class Candidate:
    """A play the account's reasons call for, why, and its expected value (None: not measured)."""

    play: str
    name: str | None
    when: str
    reasons: list[str]
    expected_value: float | None
    measured: bool
    loaded: bool
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the candidate as JSON-ready values."""
        return asdict(self)


def play_cost(definition: dict[str, Any]) -> int:
    """Return what a play's actions cost for one treated account (reporting minor units)."""
    rates = definition.get("cost", {})
    total = 0.0
    for action in definition.get("actions", []):
        if action["kind"] == "task":
            total += action.get("minutes", 0) / 60 * rates.get("csm_hourly_rate", 0)
        elif action["kind"] == "offer":
            total += action.get("value", 0)
        elif action["kind"] == "journey":
            total += action.get("emails", 0) * rates.get("email", 0)
    return round(total)


def expected_value(value: PlayValue, mrr: float) -> float | None:
    """Return effect × MRR × remaining lifetime − cost, or None when the play is not measured."""
    if not value.measured:
        return None
    assert value.effect is not None and value.lifetime_months is not None
    return value.effect * mrr * value.lifetime_months - value.cost


def _any(patterns: list[str], name: str) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def _drivers(entry: MapEntry, signals: AccountSignals, weak_score: float) -> list[str]:
    """Return the texts of the account's drivers that the entry names."""
    found = [
        str(r.get("text") or r.get("feature"))
        for r in signals.churn_reasons
        if (r.get("contribution") or 0) > 0 and _any(entry.churn_features, str(r.get("feature")))
    ]
    for name, measure in sorted(signals.health_measures.items()):
        score = measure.get("score")
        if score is not None and score < weak_score and _any(entry.health_measures, name):
            found.append(f"health: {name.replace('_', ' ')} scored {score:.0f}")
    found += [text for kind, text in signals.alerts if kind in entry.alert_kinds]
    return found


def _conditions(entry: MapEntry, signals: AccountSignals) -> list[str] | None:
    """Return the texts of the entry's conditions when all hold, None when one fails."""
    held = []
    if entry.health_tiers:
        if signals.health_tier not in entry.health_tiers:
            return None
        held.append(f"health tier {signals.health_tier}")
    if entry.renewal_within_days is not None:
        days = signals.days_to_renewal
        if days is None or days > entry.renewal_within_days:
            return None
        held.append(f"renewal in {days} days")
    return held


def matched_reasons(entry: MapEntry, signals: AccountSignals, weak_score: float) -> list[str]:
    """Return why the entry applies to the account (empty when it does not)."""
    conditions = _conditions(entry, signals)
    if conditions is None:
        return []
    drivers = _drivers(entry, signals, weak_score)
    if entry.has_drivers and not drivers:
        return []
    return conditions + drivers


def _rank_key(position: int, candidate: Candidate) -> tuple[int, float, int]:
    """Positive expected value first (largest first), then unmeasured in map order, then the rest."""
    value = candidate.expected_value
    if not candidate.loaded:
        return (3, 0.0, position)
    if value is None:
        return (1, 0.0, position)
    return (0, -value, position) if value > 0 else (2, -value, position)


def rank(
    signals: AccountSignals, play_map: PlayMap, plays: dict[str, PlayValue]
) -> list[Candidate]:
    """Return the plays the account's reasons call for, best first (one entry per play)."""
    found: dict[str, Candidate] = {}
    for entry in play_map.entries:
        reasons = matched_reasons(entry, signals, play_map.weak_score)
        if not reasons:
            continue
        if entry.play in found:
            found[entry.play].reasons += [r for r in reasons if r not in found[entry.play].reasons]
            continue
        value = plays.get(entry.play)
        ev = expected_value(value, signals.mrr) if value else None
        note = None if value is None or value.measured else NOT_MEASURED
        if value is None:
            note = f"no play {entry.play!r} is loaded (tenure plays load)"
        found[entry.play] = Candidate(
            entry.play, value.name if value else None, entry.when, reasons, ev,
            value.measured if value else False, value is not None, note,
        )  # fmt: skip
    ordered = sorted(enumerate(found.values()), key=lambda pair: _rank_key(*pair))
    return [candidate for _, candidate in ordered]


def recommended(candidates: list[Candidate]) -> Candidate | None:
    """Return the play to run: the best loaded one unless its measured value is not positive."""
    for candidate in candidates:
        if candidate.loaded and (candidate.expected_value is None or candidate.expected_value > 0):
            return candidate
    return None


def has_positive_play(candidates: list[Candidate]) -> bool:
    """Return whether any loaded candidate has a measured, positive expected value."""
    return any(c.loaded and (c.expected_value or 0) > 0 for c in candidates)
