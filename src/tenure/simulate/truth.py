"""Exact churn-probability tables per (multiplier, treatment, days-to-treatment, state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa

from tenure.simulate.chain import MarkovChain, survival_powers
from tenure.simulate.writers import StreamingParquet

HORIZONS: tuple[int, ...] = (30, 90)


@dataclass(frozen=True)
class TruthTable:
    """P(churn within ``horizon`` days) looked up by account multiplier and state.

    ``untreated[m, s]`` holds 1 − [Q_m^H 1]_s. ``treated[m, k, s]`` holds the probability
    for an account whose multiplier drops to m·(1 − E) after ``k`` days of the horizon:
    1 − [Q_m^k · Q_m'^(H−k) · 1]_s (k = 0: treated throughout, k = H: not yet treated).
    """

    horizon: int
    untreated: np.ndarray
    treated: np.ndarray

    def lookup(
        self, mult: np.ndarray, states: np.ndarray, treated: np.ndarray, days_to_start: int
    ) -> np.ndarray:
        """Return float32 churn probabilities for accounts on one day."""
        k = int(np.clip(days_to_start, 0, self.horizon))
        base = self.untreated[mult, states]
        if not treated.any():
            return base.astype(np.float32)
        return np.where(treated, self.treated[mult, k, states], base).astype(np.float32)


def build_truth_table(
    chain: MarkovChain, multipliers: np.ndarray, effect: float, horizon: int
) -> TruthTable:
    """Compute the exact table for every distinct multiplier (one small matrix chain each)."""
    plain = survival_powers(chain, multipliers, horizon)
    after = survival_powers(chain, multipliers * (1.0 - effect), horizon)
    q = np.stack([chain.survival_matrix(m) for m in multipliers])
    treated = np.empty_like(plain)
    power = np.broadcast_to(np.eye(q.shape[1]), q.shape).copy()
    for k in range(horizon + 1):
        # Q_m^k applied to the post-switch survival over the remaining H − k days.
        treated[:, k] = np.einsum("mij,mj->mi", power, after[:, horizon - k])
        power = power @ q
    return TruthTable(
        horizon=horizon,
        untreated=np.clip(1.0 - plain[:, horizon], 0.0, 1.0),
        treated=np.clip(1.0 - treated, 0.0, 1.0),
    )


def build_truth_tables(
    chain: MarkovChain,
    multipliers: np.ndarray,
    effects: tuple[float, ...],
    horizons: tuple[int, ...] = HORIZONS,
) -> tuple[tuple[TruthTable, ...], ...]:
    """Return, per horizon, one table per arm's churn effect (one no-effect table if no arms)."""
    arms = effects or (0.0,)
    return tuple(tuple(build_truth_table(chain, multipliers, e, h) for e in arms) for h in horizons)


def lookup_arms(
    tables: tuple[TruthTable, ...],
    mult: np.ndarray,
    states: np.ndarray,
    arm: np.ndarray,
    days_to_start: int,
) -> np.ndarray:
    """Return float32 churn probabilities of accounts in arms (0 = control, a = tables[a − 1])."""
    k = int(np.clip(days_to_start, 0, tables[0].horizon))
    out = tables[0].untreated[mult, states]
    for a, table in enumerate(tables, start=1):
        hit = arm == a
        if hit.any():
            out = np.where(hit, table.treated[mult, k, states], out)
    return out.astype(np.float32)


TRUTH_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("date", pa.date32()),
        ("state", pa.string()),
        ("p_churn_30", pa.float32()),
        ("p_churn_90", pa.float32()),
    ]
)


class TruthWriter:
    """Stream the daily truth rows of every account in the chain to truth.parquet."""

    def __init__(self, path: Path, account_ids: list[str], states: tuple[str, ...]) -> None:
        self._out = StreamingParquet(path, TRUTH_SCHEMA, rows_per_group=1_000_000)
        self._accounts = pa.array(account_ids, pa.string())
        self._states = pa.array(states, pa.string())

    @property
    def rows(self) -> int:
        """Return the number of rows written so far."""
        return self._out.rows

    def add(
        self, day: date, accounts: np.ndarray, states: np.ndarray, probabilities: list[np.ndarray]
    ) -> None:
        """Queue one day's rows; the Arrow batch is built on the writer thread."""
        self._out.add(partial(self._batch, day, accounts, states, probabilities), len(accounts))

    def _batch(
        self, day: date, accounts: np.ndarray, states: np.ndarray, probabilities: list[np.ndarray]
    ) -> pa.RecordBatch:
        """Return the Arrow batch of one day's truth rows."""
        n = len(accounts)
        return pa.record_batch(
            [
                self._accounts.take(pa.array(accounts)),
                pa.repeat(pa.scalar(day, pa.date32()), n),
                self._states.take(pa.array(states)),
                *(pa.array(p, pa.float32()) for p in probabilities),
            ],
            schema=TRUTH_SCHEMA,
        )

    def close(self) -> None:
        """Finish the file."""
        self._out.close()
