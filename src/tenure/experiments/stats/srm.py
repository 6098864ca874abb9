"""Sample-ratio mismatch: a chi-square goodness-of-fit test of the units per variant."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special

# Below this p-value the split is treated as broken and no decision is taken.
SRM_THRESHOLD = 0.001


def srm_p_value(counts: Sequence[int], weights: Sequence[float] | None = None) -> float:
    """Return the chi-square p-value of the observed counts against the expected split."""
    observed = np.asarray(counts, dtype=float)
    expected_share = np.ones_like(observed) if weights is None else np.asarray(weights, float)
    total = observed.sum()
    if total == 0 or observed.size < 2:
        return 1.0
    expected = expected_share / expected_share.sum() * total
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return float(special.chdtrc(observed.size - 1, statistic))
