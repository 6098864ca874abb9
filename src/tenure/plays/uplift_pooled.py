"""Uplift of several plays in one pooled model: the plays share what they have in common.

Each run's 90-day churn follows a complementary log-log model (a proportional cut of the churn
hazard, which is how a play acts):

    P(churn) = 1 − exp(−exp(η)),   η = log(−log(1 − p₀(x))) + γ + [treated with play k]·τ_k(z)
    τ_k(z) = a_k + z·β + z·δ_k

p₀ is the account's churn probability without a play: a calibrated churn score among the
features (``baseline``), or a control model learned from the holdout runs. γ recalibrates it on
the holdout. z are the effect modifiers (plan, at-risk reasons, proxies of engagement: churn
level, usage level and trend), standardised. a_k is each play's own effect, β what every play
shares and δ_k how a play departs from it; ridge penalties shrink δ hardest, so a play with few
runs borrows the shared shape instead of fitting noise. A low-variance final stage by design:
with true effects of a few points of retention, trees on a few hundred runs per play learn noise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator

from tenure.plays.uplift import TREE_PARAMS, outcome_model

HOLDOUT = -1
EPS = 1e-6


def cloglog_offset(p_churn: np.ndarray) -> np.ndarray:
    """Return log(−log(1 − p)), the cloglog of a churn probability (clipped away from 0, 1)."""
    return np.log(-np.log1p(-np.clip(p_churn, EPS, 1 - EPS)))


def _loss(w: np.ndarray, data: tuple, penalty: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the penalised negative log-likelihood of the cloglog model and its gradient."""
    offset, churned, arm, z, treated = data
    k, d = arm.shape[1], z.shape[1]
    a, beta, delta = w[1 : 1 + k], w[1 + k : 1 + k + d], w[1 + k + d :].reshape(k, d)
    eta = offset + w[0] + arm @ a + treated * (z @ beta) + (arm * (z @ delta.T)).sum(1)
    mu = np.exp(np.minimum(eta, 30.0))
    p = np.clip(-np.expm1(-mu), 1e-12, 1.0)
    loglik = churned * np.log(p) - (1 - churned) * mu
    d_eta = churned * mu * np.exp(-mu) / p - (1 - churned) * mu
    grad = np.concatenate([
        [-d_eta.sum()], -(arm.T @ d_eta), -(z.T @ (d_eta * treated)),
        (-(arm * d_eta[:, None]).T @ z).ravel(),
    ]) + 2 * penalty * w  # fmt: skip
    return float(-loglik.sum() + (penalty * w * w).sum()), grad


class PooledUplift(BaseEstimator):
    """Per-play uplift in retention from one cloglog model pooled across plays (see module)."""

    def __init__(
        self,
        n_plays: int,
        min_rows: int = 100,
        baseline: int | None = None,
        modifiers: Callable[[np.ndarray], np.ndarray] | None = None,
        penalties: tuple[float, float, float] = (0.001, 0.3, 0.1),
        seed: int = 0,
    ) -> None:
        """Keep the parameters (no work here, per the scikit-learn contract).

        ``baseline``: column of X holding a calibrated P(churn) without a play (None: learn it
        from the holdout runs); ``modifiers``: X → effect modifiers (None: X itself);
        ``penalties``: ridge weights per run of the plays' own effects, the shared shape and the
        departures (per run: the same balance of prior and data on any history size).
        """
        self.n_plays = n_plays
        self.min_rows = min_rows
        self.baseline = baseline
        self.modifiers = modifiers
        self.penalties = penalties
        self.seed = seed

    def _p_churn(self, X: np.ndarray) -> np.ndarray:
        if self.baseline is not None:
            return X[:, self.baseline]
        return 1.0 - self.control_model_.predict_proba(X)[:, 1]

    def _z(self, X: np.ndarray) -> np.ndarray:
        z = np.asarray(X if self.modifiers is None else self.modifiers(X), dtype=float)
        return (z - self.z_mean_) / self.z_scale_

    def fit(self, X: Any, retained: Any, play: Any) -> PooledUplift:
        """Fit the pooled model on treated runs (per play) and the shared holdout."""
        X, y, play = np.asarray(X, float), np.asarray(retained, float), np.asarray(play)
        holdout = play == HOLDOUT
        if holdout.sum() < self.min_rows or len(np.unique(y[holdout])) < 2:
            raise ValueError(f"uplift needs at least {self.min_rows} holdout runs of both outcomes")
        if self.baseline is None:
            self.control_model_ = outcome_model(True, self.seed, 1, TREE_PARAMS)
            self.control_model_.fit(X[holdout], y[holdout])
        counts = np.bincount(play[~holdout], minlength=self.n_plays)[: self.n_plays]
        self.fitted_plays_ = counts >= self.min_rows
        keep = holdout | np.isin(play, np.flatnonzero(self.fitted_plays_))
        raw = np.asarray(X if self.modifiers is None else self.modifiers(X), dtype=float)
        self.z_mean_, self.z_scale_ = raw.mean(0), raw.std(0) + 1e-9
        z = self._z(X[keep])
        arm = np.zeros((keep.sum(), self.n_plays))
        treated = play[keep] != HOLDOUT
        arm[np.flatnonzero(treated), play[keep][treated]] = 1.0
        data = (cloglog_offset(self._p_churn(X[keep])), 1.0 - y[keep], arm, z, treated * 1.0)
        k, d = self.n_plays, z.shape[1]
        own, shared, departure = self.penalties
        per_run = [[0.0], np.full(k, own), np.full(d, shared), np.full(k * d, departure)]
        penalty = np.concatenate(per_run) * len(z)
        result = minimize(
            _loss, np.zeros(len(penalty)), (data, penalty), jac=True, method="L-BFGS-B"
        )
        self.coef_ = result.x
        return self

    def effect_margin(self, X: np.ndarray) -> np.ndarray:
        """Return τ_k (rows × plays): each play's shift of the cloglog of churn."""
        z, k = self._z(X), self.n_plays
        d = z.shape[1]
        a, beta = self.coef_[1 : 1 + k], self.coef_[1 + k : 1 + k + d]
        delta = self.coef_[1 + k + d :].reshape(k, d)
        return a[None, :] + (z @ beta)[:, None] + z @ delta.T

    def predict(self, X: Any) -> np.ndarray:
        """Return (rows × plays) uplift: P(retained | play) − P(retained | holdout); NaN if unfit."""
        X = np.asarray(X, dtype=float)
        eta = cloglog_offset(self._p_churn(X)) + self.coef_[0]
        control = np.exp(-np.exp(eta))
        treated = np.exp(-np.exp(eta[:, None] + self.effect_margin(X)))
        out = treated - control[:, None]
        out[:, ~self.fitted_plays_] = np.nan
        return out
