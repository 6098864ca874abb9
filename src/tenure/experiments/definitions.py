"""Experiment metric definitions as data: a pydantic model and the TOML files that hold them.

A metric reads one *source* per unit over a window that starts at the unit's first exposure:

- ``churned``: 1 when the account's paying subscription ends (the churn rule of
  `tenure.churn.labels`) in [exposure, exposure + window), else 0.
- ``renewed``: 1 when the account still pays at the end of the window (MRR in force > 0).
- ``upgraded``: 1 when the MRR in force at the end of the window exceeds that at exposure.
- ``events`` / ``event_count(NAME)``: product events (of one name) in the window.
- ``active_days``: distinct UTC days with at least one event in the window.
- ``tickets``: support tickets opened in the window.
- ``mrr_change``: MRR in force at the window's end minus at its start (reporting minor units).
- ``mrr`` / ``seats``: MRR in force / paid seats just before exposure (ratio denominators).

A binary metric over a count source means "at least one" (e.g. ``event_count(Email Clicked)``
for *clicked*). ``pre_window_days`` adds the same source over [exposure − pre, exposure) as
the CUPED covariate. A ratio metric divides the sums of ``source`` and ``denominator``.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tenure.errors import InputError
from tenure.experiments.schemas import MetricKind

WINDOW_SOURCES = ("churned", "renewed", "upgraded", "events", "active_days", "tickets")
SOURCES = (*WINDOW_SOURCES, "event_count", "mrr_change", "mrr", "seats")
# Sources read at the exposure instant (no window): only meaningful as ratio denominators.
POINT_SOURCES = ("mrr", "seats")
BINARY_SOURCES = ("churned", "renewed", "upgraded")
MAX_WINDOW_DAYS = 730
_SOURCE = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*([^()]*?)\s*\))?\s*$")
DEFAULTS_FILE = "metrics.toml"


class Source(BaseModel):
    """A parsed source: its kind and, for ``event_count``, the event name."""

    model_config = ConfigDict(frozen=True)

    kind: str
    event: str | None = None

    @property
    def is_count(self) -> bool:
        """Return True for sources that count things (a binary metric then means "any")."""
        return self.kind in ("events", "event_count", "active_days", "tickets")


def parse_source(text: str) -> Source:
    """Return the Source of "churned", "event_count(login)" …, or raise ValueError."""
    match = _SOURCE.match(text or "")
    if match is None or match.group(1) not in SOURCES:
        raise ValueError(f"unknown source {text!r}; use one of {', '.join(SOURCES)}")
    kind, argument = match.group(1), match.group(2)
    if kind == "event_count" and not argument:
        raise ValueError("event_count needs an event name, e.g. event_count(login)")
    if kind != "event_count" and argument is not None:
        raise ValueError(f"source {kind} takes no argument")
    return Source(kind=kind, event=argument)


class MetricDefinition(BaseModel):
    """One experiment metric: what to read per unit, over which window, and how to judge it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    kind: MetricKind
    source: Source
    window_days: int = Field(ge=1, le=MAX_WINDOW_DAYS)
    pre_window_days: int | None = Field(default=None, ge=1, le=MAX_WINDOW_DAYS)
    denominator: Source | None = None
    higher_is_better: bool = True
    guardrail: bool = False
    guardrail_direction: Literal["increase", "decrease"] | None = None
    guardrail_threshold: float = Field(default=0.0, ge=0.0)
    description: str = ""

    @field_validator("source", "denominator", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return parse_source(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> MetricDefinition:
        src = self.source.kind
        if src in POINT_SOURCES:
            raise ValueError(f"source {src} has no window; use it as a ratio denominator")
        if self.kind == MetricKind.RATIO and self.denominator is None:
            raise ValueError("a ratio metric needs a denominator")
        if self.kind != MetricKind.RATIO and self.denominator is not None:
            raise ValueError("only a ratio metric takes a denominator")
        if src in BINARY_SOURCES and self.kind != MetricKind.BINARY:
            raise ValueError(f'source {src} is 0/1: use kind = "binary"')
        if self.kind == MetricKind.BINARY and not (src in BINARY_SOURCES or self.source.is_count):
            raise ValueError(f"source {src} cannot be binary")
        if self.guardrail_direction is not None and not self.guardrail:
            raise ValueError("guardrail_direction needs guardrail = true")
        return self

    @property
    def harmful_direction(self) -> str:
        """Return "increase" or "decrease": the change that counts against a guardrail."""
        if self.guardrail_direction is not None:
            return self.guardrail_direction
        return "decrease" if self.higher_is_better else "increase"

    def guardrail_breached(
        self, lift: float | None, interval: tuple[float, float] | None = None
    ) -> bool:
        """Return True when a relative lift moves the harmful way by more than the threshold.

        With the lift's interval given, the harm must be significant too (zero outside it).
        """
        if not self.guardrail or lift is None:
            return False
        increase = self.harmful_direction == "increase"
        harm = lift if increase else -lift
        if harm <= self.guardrail_threshold:
            return False
        if interval is None:
            return True
        return interval[0] > 0 if increase else interval[1] < 0


def _location(error: dict[str, Any]) -> str:
    return ".".join(str(p) for p in error["loc"]) or "metric"


def build_definition(entry: Any, *, origin: str, number: int) -> MetricDefinition:
    """Return one validated definition, or raise InputError naming file, metric and field."""
    if not isinstance(entry, dict):
        raise InputError(f"{origin}: metric #{number} is not a table")
    label = entry.get("name") if isinstance(entry.get("name"), str) else f"#{number}"
    try:
        return MetricDefinition.model_validate(entry)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e)}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{origin}: metric {label!r}: {problems}") from None


def parse_definitions(text: str, *, origin: str) -> list[MetricDefinition]:
    """Return the `[[metric]]` definitions of a TOML document (origin names it in errors)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{origin}: not valid TOML: {exc}") from None
    entries = document.get("metric")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{origin}: no [[metric]] entries")
    metrics = [build_definition(e, origin=origin, number=i) for i, e in enumerate(entries, 1)]
    seen: set[str] = set()
    for metric in metrics:
        if metric.name in seen:
            raise InputError(f"{origin}: metric {metric.name!r} is defined twice")
        seen.add(metric.name)
    return metrics


def load_definitions(path: Path | None = None) -> list[MetricDefinition]:
    """Return the definitions of a TOML file, or the packaged defaults when path is None."""
    if path is None:
        text = resources.files("tenure.experiments").joinpath(DEFAULTS_FILE).read_text("utf-8")
        return parse_definitions(text, origin=f"(packaged) {DEFAULTS_FILE}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read metrics file {path}: {exc}") from None
    return parse_definitions(text, origin=str(path))


def select_definitions(
    definitions: list[MetricDefinition], names: list[str]
) -> list[MetricDefinition]:
    """Return the named definitions in the order given, or raise InputError for an unknown one."""
    by_name = {d.name: d for d in definitions}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise InputError(f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]
