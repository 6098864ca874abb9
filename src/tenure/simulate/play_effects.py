"""Hidden play effects: how much each kind of play cuts an account's churn hazard, and its truth.

A play of kind k started on an account multiplies its daily hazard by 1 − E for
``duration_days`` once ``delay_days`` have passed. E depends on the account's engagement state
when the play is chosen, its plan (segment) and whether the reason the play addresses is present
(a failed payment, an urgent ticket, a usage drop). The true effect of a play on an account is
the exact drop in its churn probability over the horizon: with Q_m = diag(1 − m·h)·P,

    uplift = [Q_m^d · Q_m'^u · Q_m^(H−d−u) · 1]_s − [Q_m^H · 1]_s,   m' = m·(1 − E).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure.simulate.chain import MarkovChain

REASONS = ("failed_payment", "urgent_ticket", "usage_drop")
MIN_CUT, MAX_CUT = -0.5, 0.9


@dataclass(frozen=True)
class PlayKind:
    """One kind of play: its hidden hazard cut, its delay and duration, and what it costs."""

    name: str
    by_state: tuple[float, ...]  # hazard cut per engagement state when the play is chosen
    by_plan: tuple[float, ...]  # factor per plan (starter, growth, pro, enterprise)
    reason: str | None = None  # the at-risk reason the play addresses
    with_reason: float = 1.0  # factor when the reason is present
    without_reason: float = 1.0  # factor when it is absent
    delay_days: int = 1
    duration_days: int = 60
    csm_minutes: int = 0
    offer_mrr_months: float = 0.0  # offer spend as months of the account's MRR
    emails: int = 0


DEFAULT_KINDS: tuple[PlayKind, ...] = (
    PlayKind("csm_call", (0, 0.05, 0.40, 0.70, 0.10, 0), (0.3, 0.7, 1.2, 1.4),
             "usage_drop", 1.2, 1.0, delay_days=2, duration_days=60, csm_minutes=45),
    PlayKind("adoption_journey", (0, 0, 0.20, 0.50, 0.15, 0), (1.3, 1.0, 0.7, 0.4),
             "usage_drop", 1.3, 0.4, delay_days=7, duration_days=60, emails=3),
    PlayKind("discount_offer", (-0.30, -0.20, -0.10, 0.10, 0.05, 0.40), (1.5, 1.0, 0.6, 0.3),
             "failed_payment", 1.5, 1.0, delay_days=1, duration_days=90, offer_mrr_months=0.6),
    PlayKind("support_escalation", (0, 0.10, 0.30, 0.40, 0.05, 0.05), (0.8, 1.0, 1.0, 1.1),
             "urgent_ticket", 2.0, 0.1, delay_days=1, duration_days=45, csm_minutes=60),
    PlayKind("dunning", (0, 0, 0, 0, 0, 0.90), (1.0, 1.0, 1.0, 1.0),
             "failed_payment", 1.0, 0.1, delay_days=0, duration_days=30, csm_minutes=10, emails=2),
    PlayKind("training", (0, 0.10, 0.50, 0.60, 0.05, 0), (0.4, 0.8, 1.2, 1.4),
             "usage_drop", 1.2, 0.8, delay_days=14, duration_days=90, csm_minutes=120),
)  # fmt: skip


def kinds_named(names: list[str] | None) -> tuple[PlayKind, ...]:
    """Return the default kinds, or those named (in the given order)."""
    if not names:
        return DEFAULT_KINDS
    by_name = {k.name: k for k in DEFAULT_KINDS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown play kinds {unknown}; known: {sorted(by_name)}")
    return tuple(by_name[n] for n in names)


def hazard_cuts(
    kinds: tuple[PlayKind, ...], states: np.ndarray, plans: np.ndarray, reasons: np.ndarray
) -> np.ndarray:
    """Return E (accounts × kinds): each kind's hazard cut for each account as it is today.

    ``reasons`` is a boolean (accounts × len(REASONS)) matrix of the at-risk reasons present.
    """
    out = np.empty((len(states), len(kinds)))
    for j, kind in enumerate(kinds):
        cut = np.asarray(kind.by_state)[states] * np.asarray(kind.by_plan)[plans]
        if kind.reason is not None:
            present = reasons[:, REASONS.index(kind.reason)]
            cut = cut * np.where(present, kind.with_reason, kind.without_reason)
        out[:, j] = np.clip(cut, MIN_CUT, MAX_CUT)
    return out


def _survival(
    chain: MarkovChain, mult: np.ndarray, cut: np.ndarray, kind: PlayKind, horizon: int
) -> np.ndarray:
    """Return Q_m^d · Q_m'^u · Q_m^rest · 1 for each (multiplier, cut) pair: shape (pairs, S)."""
    d = min(kind.delay_days, horizon)
    u = min(kind.duration_days, horizon - d)
    plain = np.stack([chain.survival_matrix(m) for m in mult])
    treated = np.stack([chain.survival_matrix(m) for m in mult * (1.0 - cut)])
    power = np.linalg.matrix_power
    ones = np.ones((len(mult), len(chain.states), 1))
    vec = power(plain, horizon - d - u) @ ones
    vec = power(treated, u) @ vec
    return (power(plain, d) @ vec)[:, :, 0]


def true_uplift(
    chain: MarkovChain,
    mult_values: np.ndarray,
    mult_index: np.ndarray,
    states: np.ndarray,
    cuts: np.ndarray,
    kinds: tuple[PlayKind, ...],
    horizon: int,
) -> np.ndarray:
    """Return the exact drop in P(churn within horizon) per (account, kind) if the play starts today."""
    out = np.empty(cuts.shape)
    base = _survival(chain, mult_values, np.zeros(len(mult_values)), kinds[0], horizon)
    untreated = base[mult_index, states]
    for j, kind in enumerate(kinds):
        keys = np.stack([mult_index, np.round(cuts[:, j], 9)], axis=1)
        pairs, inverse = np.unique(keys, axis=0, return_inverse=True)
        surv = _survival(chain, mult_values[pairs[:, 0].astype(int)], pairs[:, 1], kind, horizon)
        out[:, j] = surv[inverse.ravel(), states] - untreated
    return out
