"""The loyalty programme's hidden effect on members who engage with it, and its exact truth.

Members are the accounts Tenure enrols: `tenure.loyalty.arms.programme_arm` of the account id
under the programme's holdout fraction and the global holdout. Tenure's pipeline enrols on its
as-of day S (the programme's start); from day S + 1 a member's daily hazard is multiplied by
1 − CUT·e[s], where e[s] is how much an account in engagement state s engages with the
programme (earns points and uses what it earns): fully while its people use the product,
less as the account declines or cannot pay, little once disengaged (`ENGAGEMENT`). The effect
therefore varies by account, with its state and its hazard multiplier.

Truth, for every account in the chain on day S + 1 (alive at the end of day S: the accounts
Tenure counts at enrolment), with Q_m = diag(1 − m·h)·P and Q*_m = diag(1 − m·h·(1 − CUT·e))·P:

    p_without = 1 − [Q_m^90 · 1]_s,   p_with = 1 − [Q*_m^90 · 1]_s,   effect = p_with − p_without

i.e. churn on days S + 1 … S + 90, Tenure's "live at enrolment, gone 90 days later". The effect
has the report's sign (members − holdout: negative when members churn less); the programme's
true average effect is the mean over members (the holdout's values are its counterfactuals).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tenure.loyalty.arms import programme_arm
from tenure.simulate.chain import MarkovChain
from tenure.simulate.config import LoyaltyEffect
from tenure.simulate.truth import HORIZONS, TruthTable
from tenure.simulate.writers import write_csv

if TYPE_CHECKING:
    from tenure.simulate.engine import World

HORIZON = 90
# How much a member in each engagement state (chain.STATES order) engages with the programme.
ENGAGEMENT = np.array([1.0, 1.0, 1.0, 0.75, 0.25, 0.5])


def members_of(ids: list[str], effect: LoyaltyEffect) -> np.ndarray:
    """Return the member mask of the accounts, by Tenure's own enrolment hashing."""
    arms = [programme_arm(i, effect.holdout_fraction, effect.global_holdout) for i in ids]
    return np.array([a == "member" for a in arms], dtype=bool)


def survival(chain: MarkovChain, multipliers: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Return [Q^H · 1]_s per multiplier with hazards m·h·factors[s]: shape (len(m), S)."""
    q = factor_matrices(chain, multipliers, factors)
    ones = np.ones((len(multipliers), len(chain.states), 1))
    return (np.linalg.matrix_power(q, HORIZON) @ ones)[:, :, 0]


def factor_matrices(chain: MarkovChain, multipliers: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Return diag(1 − m·h·factors) · P per multiplier: shape (len(m), S, S)."""
    hazards = np.clip(multipliers[:, None] * np.asarray(chain.hazards) * factors, 0.0, 1.0)
    return (1.0 - hazards)[:, :, None] * np.asarray(chain.transitions)[None]


def member_table(
    chain: MarkovChain, multipliers: np.ndarray, factors: np.ndarray, horizon: int
) -> TruthTable:
    """Return a member's table: treated[m, k, s] = 1 − [Q_m^k · Q*_m^(H−k) · 1]_s."""
    plain = factor_matrices(chain, multipliers, np.ones(len(chain.states)))
    star = factor_matrices(chain, multipliers, factors)
    after = np.empty((len(multipliers), horizon + 1, len(chain.states)))
    after[:, 0] = 1.0
    for j in range(1, horizon + 1):
        after[:, j] = np.einsum("mij,mj->mi", star, after[:, j - 1])
    treated = np.empty_like(after)
    power = np.broadcast_to(np.eye(len(chain.states)), plain.shape).copy()
    for k in range(horizon + 1):
        treated[:, k] = np.einsum("mij,mj->mi", power, after[:, horizon - k])
        power = power @ plain
    return TruthTable(horizon, np.clip(1.0 - treated[:, horizon], 0.0, 1.0),
                      np.clip(1.0 - treated, 0.0, 1.0))  # fmt: skip


class LoyaltyProgramme:
    """The programme in the day loop: who is a member, the hazard cut, and the truth at S + 1."""

    def __init__(self, effect: LoyaltyEffect, start_day: int, ids: list[str]) -> None:
        self.effect, self.start_day = effect, start_day
        self.member = members_of(ids, effect)
        self.factors = 1.0 - effect.cut * ENGAGEMENT
        self.accounts = np.zeros(0, dtype=np.int64)
        self.states = np.zeros(0, dtype=np.int8)
        self.p_without = self.p_with = np.zeros(0)
        self.exact = True
        self.tables: tuple[tuple[TruthTable, ...], ...] = ()

    def prepare(self, chain: MarkovChain, multipliers: np.ndarray, arm_effects: np.ndarray) -> None:
        """Build the members' truth tables per horizon and arm (0 = control): m·(1 − E) each."""
        self.tables = tuple(
            tuple(member_table(chain, multipliers * (1.0 - e), self.factors, h)
                  for e in arm_effects)
            for h in HORIZONS
        )  # fmt: skip

    def truth_rows(
        self, day: int, accounts: np.ndarray, mult: np.ndarray, states: np.ndarray,
        arm: np.ndarray, probs: list[np.ndarray],
    ) -> list[np.ndarray]:  # fmt: skip
        """Return the day's truth probabilities with members' replaced by their tables' values.

        `arm` is the treatment arm in force today (0 before the treatment starts): a member
        whose treatment starts inside the horizon as well gets the control table (approximate).
        """
        member = self.member[accounts]
        if not self.tables or self.effect.cut == 0 or not member.any():
            return probs
        out = []
        for tables, p in zip(self.tables, probs, strict=True):
            k = int(np.clip(self.truth_day - day, 0, tables[0].horizon))
            if k >= tables[0].horizon:
                out.append(p)
                continue
            values = np.stack([t.treated[mult, k, states] for t in tables])
            mine = values[arm, np.arange(len(accounts))]
            out.append(np.where(member, mine, p).astype(np.float32))
        return out

    @property
    def truth_day(self) -> int:
        """Return the first day of the measured 90 days (the day after enrolment)."""
        return self.start_day + 1

    def hazard_factor(self, day: int, accounts: np.ndarray, states: np.ndarray) -> np.ndarray:
        """Return today's factor on the accounts' hazards: 1 − CUT·e[state] for members."""
        if day < self.truth_day or self.effect.cut == 0:
            return np.ones(len(accounts))
        return np.where(self.member[accounts], self.factors[states], 1.0)

    def record(
        self, chain: MarkovChain, accounts: np.ndarray, states: np.ndarray, mult: np.ndarray
    ) -> None:
        """Keep each account's exact 90-day churn probability without and with the programme."""
        values, index = np.unique(np.round(mult, 12), return_inverse=True)
        plain = survival(chain, values, np.ones(len(chain.states)))
        cut = survival(chain, values, self.factors)
        self.accounts, self.states = accounts.copy(), states.copy()
        self.p_without = 1.0 - plain[index.ravel(), states]
        self.p_with = 1.0 - cut[index.ravel(), states]

    def summary(self, world: World) -> dict[str, object]:
        """Return the manifest's loyalty section: arms, sizes and the true average effect."""
        member = self.member[self.accounts]
        effect = self.p_with - self.p_without
        start = world.config.start + timedelta(days=self.start_day)

        def mean(values: np.ndarray) -> float | None:
            return float(values.mean()) if len(values) else None

        return {
            "hazard_cut": self.effect.cut,
            "engagement_by_state": dict(zip(world.chain.states, ENGAGEMENT.tolist(), strict=True)),
            "holdout_fraction": self.effect.holdout_fraction,
            "global_holdout": self.effect.global_holdout,
            "enrolled_on": start.isoformat(),
            "measured_from": (start + timedelta(days=1)).isoformat(),
            "horizon_days": HORIZON,
            "members": int(member.sum()),
            "holdout": int((~member).sum()),
            "mean_p_churn_90_members": mean(self.p_with[member]),
            "mean_p_churn_90_holdout": mean(self.p_without[~member]),
            "true_effect": mean(effect[member]),
            "true_effect_all": mean(effect),
            "exact": self.exact,
            "definition": "effect = p_churn_90 as a member − p_churn_90 without the programme, "
            "from the day after enrolment; true_effect = its mean over members (loyalty.csv)",
        }

    def write(self, path: Path, ids: list[str], world: World) -> int:
        """Write loyalty.csv: every account counted at enrolment, its arm and exact truth."""
        arm = np.where(self.member[self.accounts], "member", "holdout").astype(object)
        return write_csv(
            path,
            {
                "account_id": np.asarray(ids, dtype=object)[self.accounts],
                "arm": arm,
                "state": np.asarray(world.chain.states, dtype=object)[self.states],
                "p_churn_90_without": np.char.mod("%.6f", self.p_without),
                "p_churn_90_member": np.char.mod("%.6f", self.p_with),
                "effect": np.char.mod("%.6f", self.p_with - self.p_without),
            },
        )
