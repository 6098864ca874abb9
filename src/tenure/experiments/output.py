"""The engine's result as the documented JSON of `tenure experiments analyze --json`."""

from __future__ import annotations

import math
from typing import Any

from tenure.experiments.schemas import ExperimentResult, VariantComparison

COMPARISON_FIELDS = (
    "abs_diff",
    "lift",
    "lift_ci_low",
    "lift_ci_high",
    "p_value",
    "p_value_adjusted",
    "chance_to_win",
)


def _finite(value: float | None) -> float | None:
    """Return the value, or None for a missing or non-finite number (JSON has no NaN)."""
    return None if value is None or not math.isfinite(value) else float(value)


def variant_json(row: VariantComparison) -> dict[str, Any]:
    """Return one variant's row: n and mean, then the comparisons (null on the control)."""
    return {
        "variant": row.variant,
        "n": int(row.n),
        "mean": _finite(row.mean),
        **{name: _finite(getattr(row, name)) for name in COMPARISON_FIELDS},
    }


def result_json(result: ExperimentResult) -> dict[str, Any]:
    """Return the result with exactly the documented keys."""
    return {
        "control": result.control,
        "srm_p_value": _finite(result.srm_p_value),
        "units": int(result.units),
        "metrics": [
            {
                "metric": metric.metric,
                "kind": str(metric.kind),
                "variants": [variant_json(row) for row in metric.variants],
            }
            for metric in result.metrics
        ],
    }
