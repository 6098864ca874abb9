"""Values that cross the experiments package: sufficient statistics in, comparisons out."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MetricKind(StrEnum):
    """How a metric is summarised per unit: a 0/1 outcome, a mean, or a ratio of two sums."""

    BINARY = "binary"
    MEAN = "mean"
    RATIO = "ratio"


class Method(StrEnum):
    """Which inference the engine runs."""

    FREQUENTIST = "frequentist"
    BAYESIAN = "bayesian"
    SEQUENTIAL = "sequential"


class Decision(StrEnum):
    """The written-down outcome of an experiment's analysis."""

    SHIP = "ship"
    KEEP_TESTING = "keep_testing"
    STOP = "stop"


@dataclass(frozen=True)
class MetricSummary:
    """Sufficient statistics of one metric in one variant: all the engine ever reads.

    `sum`/`sum_squares` are over the metric's per-unit values (the numerator for a ratio
    metric). `pre_*` are over the pre-exposure covariate (CUPED), `denominator_*` over a ratio
    metric's per-unit denominator; each `*_cross_sum` is Σ value × that other quantity.
    """

    n: int
    sum: float
    sum_squares: float
    pre_sum: float | None = None
    pre_sum_squares: float | None = None
    pre_cross_sum: float | None = None
    denominator_sum: float | None = None
    denominator_sum_squares: float | None = None
    denominator_cross_sum: float | None = None


@dataclass(frozen=True)
class VariantComparison:
    """One variant's figures for one metric, compared with the control (None on the control)."""

    variant: str
    n: int
    mean: float
    abs_diff: float | None = None
    lift: float | None = None
    lift_ci_low: float | None = None
    lift_ci_high: float | None = None
    p_value: float | None = None
    p_value_adjusted: float | None = None
    chance_to_win: float | None = None
    expected_loss: float | None = None
    # Benjamini–Hochberg adjusted p-value across the same family as p_value_adjusted (Holm).
    p_value_bh: float | None = None


@dataclass(frozen=True)
class MetricResult:
    """A metric's comparisons across every variant, control first."""

    metric: str
    kind: MetricKind
    variants: list[VariantComparison]
    guardrail: bool = False


@dataclass(frozen=True)
class ExperimentResult:
    """What the engine concludes about one experiment."""

    control: str
    srm_p_value: float
    units: int
    metrics: list[MetricResult]
    method: Method = Method.FREQUENTIST
    decision: Decision = Decision.KEEP_TESTING
    reasons: list[str] = field(default_factory=list)
    # The treatment to ship when decision is SHIP.
    winner: str | None = None
