"""The closed forms agree with direct numerical integration over the mixing distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from tenure.reports.clv import bgnbd, gamma_gamma
from tenure.reports.clv.data import Summary
from tenure.reports.clv.value import customer_values, fit_clv

PARAMS = (0.8, 3.0, 1.6, 2.5)  # r, α, a, b: a > 1 and a < 1 both appear below
CUSTOMERS = [(0, 0.0, 20.0), (1, 5.0, 12.0), (4, 9.5, 10.0), (7, 30.0, 38.0)]


def _mixed(integrand, params, nodes: int = 160) -> float:
    """Integrate f(λ, p) against Gamma(r, α) × Beta(a, b) by Gauss-Laguerre × Gauss-Jacobi."""
    r, alpha, a, b = params
    s, w_s = special.roots_genlaguerre(nodes, r - 1)  # weight s^(r-1) e^(-s), λ = s / α
    u, w_u = special.roots_jacobi(nodes, b - 1, a - 1)  # weight (1-u)^(b-1) (1+u)^(a-1)
    lam, p = (s / alpha)[:, None], ((u + 1) / 2)[None, :]
    norm = special.gamma(r) * 2 ** (a + b - 1) * special.beta(a, b)
    return float(w_s @ integrand(lam, p) @ w_u / norm)


def _individual(lam, p, x, t_x, big_t):
    """Return the individual-level BG/NBD likelihood (FHL 2005 eq. 3)."""
    alive = (1 - p) ** x * lam**x * np.exp(-lam * big_t)
    dropped = p * (1 - p) ** (x - 1) * lam**x * np.exp(-lam * t_x) if x > 0 else 0.0 * lam
    return alive + dropped


@pytest.mark.parametrize(("x", "t_x", "big_t"), CUSTOMERS)
@pytest.mark.parametrize("params", [PARAMS, (0.5, 2.0, 0.7, 1.8)])
def test_likelihood_equals_integrated_individual_likelihood(params, x, t_x, big_t) -> None:
    direct = _mixed(lambda lam, p: _individual(lam, p, x, t_x, big_t), params)
    closed = bgnbd.log_likelihood(params, np.array([x]), np.array([t_x]), np.array([big_t]))
    assert closed == pytest.approx(np.log(direct), abs=1e-5)


@pytest.mark.parametrize(("x", "t_x", "big_t"), CUSTOMERS[:3])
def test_conditional_expectation_equals_posterior_integral(x, t_x, big_t) -> None:
    horizon = 8.0
    # Alive at T with (λ, p): E[purchases in (T, T+t]] = (1 − e^{−λpt}) / p.
    alive = lambda lam, p: (1 - p) ** x * lam**x * np.exp(-lam * big_t)  # noqa: E731
    future = _mixed(lambda lam, p: alive(lam, p) * -np.expm1(-lam * p * horizon) / p, PARAMS)
    evidence = _mixed(lambda lam, p: _individual(lam, p, x, t_x, big_t), PARAMS)
    fitted = bgnbd.BgNbdFit(*PARAMS, log_likelihood=0.0, converged=True)
    closed = bgnbd.expected_purchases(fitted, horizon, [x], [t_x], [big_t])[0]
    assert closed == pytest.approx(future / evidence, rel=1e-4)


def test_gamma_gamma_equals_integral_over_spend_rate() -> None:
    p, q, gamma = 4.0, 3.0, 12.0
    for x, m in [(1, 20.0), (3, 35.5), (10, 8.0)]:
        # x·m_x | ν ~ Gamma(px, ν), so m_x | ν ~ Gamma(px, rate νx); ν ~ Gamma(q, rate γ).
        direct, _ = integrate.quad(
            lambda nu, x=x, m=m: (
                stats.gamma.pdf(m, p * x, scale=1 / (nu * x))
                * stats.gamma.pdf(nu, q, scale=1 / gamma)
            ),
            0,
            np.inf,
        )
        closed = gamma_gamma.log_likelihood((p, q, gamma), np.array([x]), np.array([m]))
        assert closed == pytest.approx(np.log(direct), abs=1e-7)


def test_fit_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(7)
    n, big_t = 20_000, 52.0
    lam = rng.gamma(0.9, 1 / 4.0, n)
    drop = rng.beta(1.2, 3.0, n)
    # Purchases until dropout ~ Geometric(p); purchases in (0, T] ~ Poisson(λT); the x-th of k
    # arrival times is T × Beta(x, k − x + 1).
    arrivals = rng.poisson(lam * big_t)
    x = np.minimum(rng.geometric(drop), arrivals).astype(float)
    t_x = np.zeros(n)
    some = x > 0
    t_x[some] = big_t * rng.beta(x[some], arrivals[some] - x[some] + 1)
    fitted = fit_clv(Summary(x, t_x, np.full(n, big_t))).purchases
    assert [fitted.r, fitted.alpha, fitted.a, fitted.b] == pytest.approx(
        [0.9, 4.0, 1.2, 3.0], rel=0.15
    )


def test_discounting_lowers_value_and_zero_rate_is_purchases_times_spend() -> None:
    x = np.array([0.0, 2.0, 5.0])
    money = np.array([np.nan, 20.0, 30.0])
    summary = Summary(x, np.array([0.0, 10.0, 30.0]), np.array([40.0, 40.0, 40.0]), money)
    fitted = fit_clv(
        Summary(
            np.tile(x, 50) + np.repeat(np.arange(50) % 3, 3),
            np.tile(summary.recency, 50),
            np.tile(summary.T, 50),
            np.tile(np.nan_to_num(money) + 5, 50),
        )
    )
    fitted = type(fitted)(summary, fitted.purchases, fitted.spend)
    plain = customer_values(fitted, 365)
    spend = gamma_gamma.expected_spend(fitted.spend, x, money)
    purchases = bgnbd.expected_purchases(fitted.purchases, 365 / 7, x, summary.recency, summary.T)
    assert plain == pytest.approx(purchases * spend, rel=1e-9)
    assert np.all(customer_values(fitted, 365, annual_discount=0.1) < plain)
