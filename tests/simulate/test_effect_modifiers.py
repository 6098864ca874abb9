"""The pooled uplift model's effect modifiers: plan, at-risk reasons, engagement proxies."""

from __future__ import annotations

import numpy as np

from tenure.simulate.loop_signals import FEATURES, effect_modifiers


def features(**values: float) -> np.ndarray:
    """Return one FEATURES row: zeros, with the named values."""
    row = np.zeros(len(FEATURES))
    for name, value in values.items():
        row[FEATURES.index(name)] = value
    return row


def test_modifiers_flag_plan_reasons_and_churn_band():
    rows = np.stack([
        features(plan=3, failed_payments_30d=2, usage_ratio=1.0, churn_score=0.05),
        features(plan=0, urgent_tickets_30d=1, usage_ratio=0.5, churn_score=0.25, annual=1),
    ])  # fmt: skip
    z = effect_modifiers(rows)
    assert z.shape == (2, 4 + 3 + 4 + 3 + 2)
    assert z[0, :4].tolist() == [0, 0, 0, 1] and z[1, :4].tolist() == [1, 0, 0, 0]
    assert z[0, 4:7].tolist() == [1, 0, 0]  # failed payment, no urgent ticket, no usage drop
    assert z[1, 4:7].tolist() == [0, 1, 1]
    assert z[0, 7:11].tolist() == [1, 0, 0, 0] and z[1, 7:11].tolist() == [0, 0, 1, 0]
    assert z[1, -1] == 1 and z[0, -1] == 0
