"""Pydantic shapes of experiment definitions and assignment calls, with their bounds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
UnitId = Annotated[str, Field(min_length=1, max_length=128)]
MetricName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
MAX_LISTED_UNITS = 100_000


class VariantSpec(BaseModel):
    """One arm and its relative weight."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    weight: float = Field(gt=0, le=1000)


class Targeting(BaseModel):
    """Who may enter: members of a stored segment, or a list of unit ids (none: everyone)."""

    model_config = ConfigDict(extra="forbid")

    segment: str | None = Field(default=None, min_length=1, max_length=128)
    units: list[UnitId] | None = Field(default=None, min_length=1, max_length=MAX_LISTED_UNITS)

    @model_validator(mode="after")
    def _one_rule(self) -> Targeting:
        if (self.segment is None) == (self.units is None):
            raise ValueError("targeting takes either a segment or a list of units")
        return self


class ExperimentSpec(BaseModel):
    """What `create` needs: the design, fixed once the experiment starts (weights excepted)."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    name: str = Field(min_length=1, max_length=255)
    hypothesis: str | None = Field(default=None, max_length=4000)
    unit: Literal["account", "contact"] = "account"
    variants: list[VariantSpec] = Field(min_length=2, max_length=10)
    control: Key | None = None
    layer: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    layer_start: float = Field(default=0.0, ge=0, lt=1)
    layer_end: float = Field(default=1.0, gt=0, le=1)
    targeting: Targeting | None = None
    metrics: list[MetricName] = Field(default_factory=list, max_length=20)
    guardrails: list[MetricName] = Field(default_factory=list, max_length=20)
    target_units: int | None = Field(default=None, ge=2, le=100_000_000)

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentSpec:
        keys = [v.key for v in self.variants]
        if len(set(keys)) != len(keys):
            raise ValueError(f"variant keys must be unique, got {keys}")
        if self.control is not None and self.control not in keys:
            raise ValueError(f"control {self.control!r} is not one of the variants {keys}")
        if self.layer_start >= self.layer_end:
            raise ValueError("layer_start must be below layer_end")
        return self


class AssignRequest(BaseModel):
    """Ask for a unit's variant; `expose` also records the unit's first exposure."""

    model_config = ConfigDict(extra="forbid")

    unit_id: UnitId
    expose: bool = False


class ExposureRequest(BaseModel):
    """Record that a unit saw its variant (at `exposed_at`, default now)."""

    model_config = ConfigDict(extra="forbid")

    unit_id: UnitId
    exposed_at: datetime | None = None


class AssignResult(BaseModel):
    """A unit's variant, whether it is in the experiment, and why."""

    experiment: str
    unit_id: str
    variant: str
    in_experiment: bool
    reason: Literal["assigned", "holdout", "not_targeted", "outside_layer", "stopped"]
    first_exposed_at: datetime | None = None
