"""The latent engagement Markov chain and its exact churn probabilities.

Day order (the simulator samples in exactly this order): on day d an account in state s
first faces the churn hazard ``m·h[s]``; if it survives it moves to the next state with
probability ``P[s, s']``. The one-day sub-stochastic matrix is therefore

    Q_m = diag(1 − m·h) · P          (hazard on the day, then transition)

and, with ``1`` the all-ones vector, P(churn on one of days d … d+H−1 | state s on day d) is

    1 − [Q_m^H · 1]_s.

When the multiplier switches from m to m' after k days of the horizon (a treatment that
starts inside it) the survival is ``[Q_m^k · Q_m'^(H−k) · 1]_s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STATES: tuple[str, ...] = (
    "champion",
    "healthy",
    "neutral",
    "declining",
    "disengaged",
    "payment_trouble",
)

# Daily transition matrix, rows = from, columns = to (same order as STATES); states persist
# for weeks to months, which is what makes today's state informative about the next 90 days.
DAILY_TRANSITIONS: tuple[tuple[float, ...], ...] = (
    (0.9920, 0.0072, 0.0005, 0.0000, 0.0000, 0.0003),
    (0.0035, 0.9920, 0.0038, 0.0004, 0.0000, 0.0003),
    (0.0003, 0.0070, 0.9880, 0.0040, 0.0004, 0.0003),
    (0.0000, 0.0020, 0.0070, 0.9860, 0.0047, 0.0003),
    (0.0000, 0.0003, 0.0015, 0.0040, 0.9940, 0.0002),
    (0.0000, 0.0400, 0.0300, 0.0100, 0.0000, 0.9200),
)

# Daily churn hazard per state before the account's multiplier (≈1.4 % monthly logo churn
# at the quasi-stationary mix, far higher in the disengaged and payment-trouble states).
DAILY_HAZARDS: tuple[float, ...] = (0.00002, 0.00005, 0.00025, 0.0015, 0.005, 0.008)

# State distribution of a brand-new (or reactivated) account on its first day in the chain.
ENTRY_STATE_P: tuple[float, ...] = (0.05, 0.30, 0.45, 0.15, 0.05, 0.0)


@dataclass(frozen=True)
class MarkovChain:
    """A finite engagement chain: daily transitions and per-state churn hazards."""

    transitions: np.ndarray = field(default_factory=lambda: np.array(DAILY_TRANSITIONS))
    hazards: np.ndarray = field(default_factory=lambda: np.array(DAILY_HAZARDS))
    states: tuple[str, ...] = STATES

    def __post_init__(self) -> None:
        """Check that the rows are distributions and the hazards are probabilities."""
        p, h = np.asarray(self.transitions, float), np.asarray(self.hazards, float)
        if p.shape != (len(self.states), len(self.states)) or h.shape != (len(self.states),):
            raise ValueError("transitions must be S×S and hazards length S")
        if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0):
            raise ValueError("every transition row must be a probability distribution")
        if np.any(h < 0) or np.any(h > 1):
            raise ValueError("hazards must lie in [0, 1]")

    def survival_matrix(self, multiplier: float) -> np.ndarray:
        """Return Q_m = diag(1 − m·h) · P, the one-day survive-then-move matrix."""
        keep = 1.0 - np.clip(multiplier * np.asarray(self.hazards), 0.0, 1.0)
        return keep[:, None] * np.asarray(self.transitions)

    def to_dict(self) -> dict[str, object]:
        """Return the parameters as plain JSON-ready values."""
        return {
            "states": list(self.states),
            "daily_transitions": np.asarray(self.transitions).round(6).tolist(),
            "daily_hazards": np.asarray(self.hazards).tolist(),
            "order": "hazard on the day, then transition: Q_m = diag(1 - m*h) @ P",
        }


def survival_powers(chain: MarkovChain, multipliers: np.ndarray, horizon: int) -> np.ndarray:
    """Return Q_m^j · 1 for j = 0 … horizon: shape (len(multipliers), horizon + 1, S)."""
    n_states = len(chain.states)
    out = np.empty((len(multipliers), horizon + 1, n_states))
    q = np.stack([chain.survival_matrix(m) for m in multipliers])
    vec = np.ones((len(multipliers), n_states))
    out[:, 0] = vec
    for j in range(1, horizon + 1):
        vec = np.einsum("mij,mj->mi", q, vec)
        out[:, j] = vec
    return out


def churn_probabilities(
    chain: MarkovChain, multiplier: float, horizon: int, switched: float | None = None, k: int = 0
) -> np.ndarray:
    """Return P(churn within horizon days | state) per state, switching multiplier after k days.

    Args:
        chain: the Markov chain.
        multiplier: hazard multiplier for the first ``k`` days (all days when not switched).
        horizon: number of days H in the window d … d+H−1.
        switched: multiplier for days k … H−1 (e.g. m·(1 − effect)); None means no switch.
        k: days of the horizon before the switch, 0 ≤ k ≤ H.
    """
    after = multiplier if switched is None else switched
    k = min(max(k, 0), horizon) if switched is not None else horizon
    vec = np.linalg.matrix_power(chain.survival_matrix(after), horizon - k) @ np.ones(
        len(chain.states)
    )
    vec = np.linalg.matrix_power(chain.survival_matrix(multiplier), k) @ vec
    return 1.0 - vec


def quasi_stationary(
    chain: MarkovChain, multipliers: np.ndarray | float = 1.0, iterations: int = 2000
) -> np.ndarray:
    """Return the state mix of long-surviving accounts (left Perron vector of Q_m) per multiplier."""
    ms = np.atleast_1d(np.asarray(multipliers, dtype=float))
    q = np.stack([chain.survival_matrix(m) for m in ms])
    dist = np.full((len(ms), len(chain.states)), 1.0 / len(chain.states))
    for _ in range(iterations):
        dist = np.einsum("mi,mij->mj", dist, q)
        dist /= dist.sum(axis=1, keepdims=True)
    return dist if np.ndim(multipliers) else dist[0]


def draw_churn(
    rng: np.random.Generator, hazards: np.ndarray, states: np.ndarray, multipliers: np.ndarray
) -> np.ndarray:
    """Return a boolean mask of accounts whose churn hazard fires today."""
    return rng.random(len(states)) < np.clip(multipliers * hazards[states], 0.0, 1.0)


def draw_next_states(
    rng: np.random.Generator, cumulative: np.ndarray, states: np.ndarray
) -> np.ndarray:
    """Return tomorrow's states given the row-cumulative transition matrix."""
    u = rng.random(len(states))
    rows = cumulative[states]
    nxt = (u[:, None] >= rows).sum(axis=1)
    return np.minimum(nxt, cumulative.shape[1] - 1).astype(states.dtype)


def cumulative_transitions(chain: MarkovChain) -> np.ndarray:
    """Return the row-wise cumulative transition matrix used for sampling."""
    cum = np.cumsum(np.asarray(chain.transitions), axis=1)
    cum[:, -1] = 1.0
    return cum
