"""Next best action: each account's play by expected value, chosen under the book's budget.

Pure and vectorised (numpy/pandas): callable from the simulator's loop, the CLI, the dashboard.

Expected value of play p on account a = uplift(a, p) × MRR(a) × remaining lifetime(a) − cost(a, p),
uplift being the drop in churn probability over the play's horizon (estimated by an uplift model
or, for plays with little data, drawn by Thompson sampling from Beta posteriors over the retained
share of past treated and holdout runs).

Selection is greedy by expected value per unit of budget, with the budget priced. Choosing at
most one play per account under two budgets (CSM hours, offer spend) is a multiple-choice,
two-dimensional knapsack (NP-hard). Its linear relaxation is solved by a price λ on the budget
(expected value per unit of budget share): every account takes the play with the largest
EV − λ × share, and λ rises until the choices fit. With thousands of accounts each using a tiny
share of the budget, this is within a few plays' value of the optimum, and it is a few dozen
vectorised passes. Plain density order (EV / share) would not do on its own: a free play with a
tiny EV (an email journey) would always beat a CSM call worth a hundred times more on the
same account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_LIFETIME_MONTHS = 120.0
DAYS_PER_MONTH = 30.4375
POSTERIOR_COLUMNS = ("treated_retained", "treated_churned", "holdout_retained", "holdout_churned")
BISECTION_STEPS = 40  # the price to within 1e-12 of its range
REQUIRED = ("account_id", "play", "uplift", "mrr", "lifetime_months", "cost")


@dataclass(frozen=True)
class Budget:
    """What one decision period may spend: CSM hours and offer spend (reporting minor units)."""

    csm_hours: float = math.inf
    offer_spend: float = math.inf


def remaining_lifetime_months(p_churn: np.ndarray, horizon_days: int = 90) -> np.ndarray:
    """Return the expected remaining lifetime (months) implied by P(churn within horizon)."""
    p = np.clip(np.asarray(p_churn, dtype=float), 0.0, 1.0 - 1e-9)
    monthly_hazard = -np.log1p(-p) / (horizon_days / DAYS_PER_MONTH)
    with np.errstate(divide="ignore"):
        return np.minimum(MAX_LIFETIME_MONTHS, 1.0 / monthly_hazard)


def draw_holdout(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """Return which of n accounts are held out (drawn before any selection; never treated)."""
    return rng.random(n) < share


def thompson_uplift(candidates: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Draw each row's uplift: Beta(1 + retained, 1 + churned) treated minus holdout."""
    c = candidates
    treated = rng.beta(1.0 + c["treated_retained"], 1.0 + c["treated_churned"])
    holdout = rng.beta(1.0 + c["holdout_retained"], 1.0 + c["holdout_churned"])
    return treated - holdout


def expected_value(candidates: pd.DataFrame, uplift: np.ndarray) -> np.ndarray:
    """Return uplift × MRR × remaining lifetime − cost per row."""
    c = candidates
    return uplift * c["mrr"].to_numpy(float) * c["lifetime_months"].to_numpy(float) - c[
        "cost"
    ].to_numpy(float)


def _usage(candidates: pd.DataFrame, column: str) -> np.ndarray:
    if column not in candidates:
        return np.zeros(len(candidates))
    return candidates[column].to_numpy(float)


def budget_shares(candidates: pd.DataFrame, budget: Budget) -> np.ndarray:
    """Return the share of the period's budgets each row would use (summed over both)."""
    hours, spend = _usage(candidates, "csm_hours"), _usage(candidates, "offer_spend")
    share = np.zeros(len(candidates))
    for used, limit in ((hours, budget.csm_hours), (spend, budget.offer_spend)):
        if math.isfinite(limit):
            share += used / limit if limit > 0 else np.where(used > 0, 1e12, 0.0)  # never fits
    return share


def rows_by_account(account_id: pd.Series) -> np.ndarray:
    """Return an (accounts × most plays) matrix of row positions, −1 where an account has fewer."""
    codes = pd.factorize(account_id)[0]
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    slot = np.arange(len(codes)) - np.repeat(starts, counts)
    table = np.full((len(counts), counts.max(initial=0)), -1, dtype=np.int64)
    table[codes[order], slot] = order
    return table


def best_play_at_price(
    table: np.ndarray, ev_table: np.ndarray, share_table: np.ndarray, price: float
) -> np.ndarray:
    """Return the row positions of each account's best play by EV − price × budget share (> 0).

    ``ev_table`` and ``share_table`` are EV and budget share laid out like ``table`` (−inf EV
    where an account has no such play).
    """
    net = ev_table - price * share_table
    pick = net.argmax(axis=1)
    at = np.arange(len(table))
    return table[at, pick][net[at, pick] > 0]


def _fits(rows: np.ndarray, hours: np.ndarray, spend: np.ndarray, budget: Budget) -> bool:
    return (
        hours[rows].sum() <= budget.csm_hours + 1e-9
        and spend[rows].sum() <= budget.offer_spend + 1e-9
    )


def select_under_budget(candidates: pd.DataFrame, ev: np.ndarray, budget: Budget) -> np.ndarray:
    """Return the row positions chosen: at most one play per account, within both budgets.

    The budget gets a price λ (expected value per unit of budget share): each account takes the
    play with the largest EV − λ × share when that is positive, and λ is the lowest price at
    which the choices fit (bisection). Plays are then kept best EV per unit of budget first
    while both budgets last, which trims what the last bisection step left over.
    """
    table = rows_by_account(candidates["account_id"])
    hours, spend = _usage(candidates, "csm_hours"), _usage(candidates, "offer_spend")
    share = budget_shares(candidates, budget)
    ev_table = np.where(table >= 0, ev[table], -np.inf)
    share_table = np.where(table >= 0, share[table], 0.0)
    rows = best_play_at_price(table, ev_table, share_table, 0.0)
    if not _fits(rows, hours, spend, budget):
        paid = share > 0
        low, high = 0.0, float(np.max(ev[paid] / share[paid]))
        for _ in range(BISECTION_STEPS):
            mid = (low + high) / 2
            if _fits(best_play_at_price(table, ev_table, share_table, mid), hours, spend, budget):
                high = mid
            else:
                low = mid
        rows = best_play_at_price(table, ev_table, share_table, high)
    density = ev[rows] / (share[rows] + 1e-12)
    rows = rows[np.argsort(-density, kind="stable")]
    keep = np.ones(len(rows), dtype=bool)
    for used, limit in ((hours[rows], budget.csm_hours), (spend[rows], budget.offer_spend)):
        keep &= (np.cumsum(used) <= limit + 1e-9) | (used == 0)
    return rows[keep]


def _check(candidates: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in candidates]
    if missing:
        raise ValueError(f"candidates lack columns {missing}")


def recommend(candidates: pd.DataFrame, budget: Budget, rng: np.random.Generator) -> pd.DataFrame:
    """Return the chosen (account, play) rows with their expected value, under the budget.

    ``candidates``: one row per (account, eligible play) with ``account_id``, ``play``,
    ``uplift`` (estimated drop in churn probability; NaN = no estimate), ``mrr``,
    ``lifetime_months``, ``cost`` (money in one unit), and optionally ``csm_hours``,
    ``offer_spend``, ``holdout`` (drawn per account before this call, see `draw_holdout`),
    ``explore`` (use a Thompson draw instead of ``uplift``) with the posterior counts
    ``treated_retained``, ``treated_churned``, ``holdout_retained``, ``holdout_churned``.

    Held-out accounts go through the same selection, so the ones chosen are each play's
    holdout (comparable with its treated accounts), but they are never treated: ``treat`` is
    False for them. Their would-be plays count against the budget; pass a budget scaled by
    1 / (1 − holdout share) to have the treated accounts spend about the budget itself.
    Adds ``ev``, ``source`` ("model" or "thompson") and ``treat``; best expected value first.
    """
    _check(candidates)
    frame = candidates
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
        frame = frame.reset_index(drop=True)
    uplift = frame["uplift"].to_numpy(float).copy()
    explore = frame["explore"].to_numpy(bool) if "explore" in frame else np.isnan(uplift)
    explore |= np.isnan(uplift)
    if explore.any():
        if not set(POSTERIOR_COLUMNS) <= set(frame):
            raise ValueError(f"rows to explore need the columns {list(POSTERIOR_COLUMNS)}")
        uplift[explore] = thompson_uplift(frame[explore], rng)
    ev = expected_value(frame, uplift)
    rows = select_under_budget(frame, ev, budget)
    out = frame.iloc[rows].copy()
    out["uplift"] = uplift[rows]
    out["ev"] = ev[rows]
    out["source"] = np.where(explore[rows], "thompson", "model")
    held = out["holdout"].to_numpy(bool) if "holdout" in out else np.zeros(len(out), dtype=bool)
    out["treat"] = ~held
    return out.sort_values("ev", ascending=False, kind="stable").reset_index(drop=True)
