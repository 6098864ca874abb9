"""Reference tests of the survival module: Kaplan–Meier, log-rank and Cox against hand values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from tenure.analysis.frame import AnalysisFrame
from tenure.analysis.survival import (
    cox_covariates,
    cox_model,
    design_matrix,
    kaplan_meier,
    logrank,
    survival_report,
)


def _frame(durations, events, numeric=None, categorical=None, **columns) -> AnalysisFrame:
    data = pd.DataFrame({"duration": durations, "event": events, **columns})
    return AnalysisFrame(data=data, numeric=numeric or [], categorical=categorical or [])


def test_kaplan_meier_matches_the_hand_computation():
    """Six accounts: months 1, 2, 2+, 3, 4+, 5 (+ = still a customer, censored).

    t | at risk n | churned d | S(t) = S(t−) × (1 − d/n)
    1 |     6     |     1     | 5/6
    2 |     5     |     1     | 5/6 × 4/5 = 2/3     (the censored 2+ is still at risk at 2)
    3 |     3     |     1     | 2/3 × 2/3 = 4/9
    4 |     2     |     0     | 4/9                 (censoring only)
    5 |     1     |     1     | 0
    Median lifetime: first t with S(t) ≤ 0.5 → 3 months.
    """
    group = kaplan_meier(pd.Series([1, 2, 2, 3, 4, 5.0]), pd.Series([1, 1, 0, 1, 0, 1]))

    expected = {0: 1.0, 1: 5 / 6, 2: 2 / 3, 3: 4 / 9, 4: 4 / 9, 5: 0.0}
    assert dict(zip(group.curve["t"], group.curve["survival"], strict=True)) == pytest.approx(
        expected
    )
    assert group.median_lifetime == 3.0
    assert (group.accounts, group.events) == (6, 4)
    assert group.survival_at(3.5) == pytest.approx(4 / 9)
    assert (group.curve["ci_low"] <= group.curve["survival"]).all()


def test_median_lifetime_is_none_when_the_curve_stays_above_half():
    group = kaplan_meier(pd.Series([1, 2, 3, 4.0]), pd.Series([1, 0, 0, 0]))
    assert group.median_lifetime is None
    assert group.to_dict()["median_lifetime"] is None


def _textbook_logrank(durations, events, in_a) -> tuple[float, float]:
    """Mantel–Haenszel log-rank: at each distinct churn time t with n at risk (n₁ in A),
    d churned (d₁ in A): E₁ = d·n₁/n, V = d·(n₁/n)·(1 − n₁/n)·(n − d)/(n − 1);
    χ² = (Σ d₁ − E₁)² / Σ V with 1 degree of freedom."""
    durations, events, in_a = map(np.asarray, (durations, events, in_a))
    observed_minus_expected = variance = 0.0
    for t in np.unique(durations[events == 1]):
        at_risk = durations >= t
        n, n1 = at_risk.sum(), (at_risk & in_a).sum()
        died = (durations == t) & (events == 1)
        d, d1 = died.sum(), (died & in_a).sum()
        observed_minus_expected += d1 - d * n1 / n
        if n > 1:
            variance += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    chi2 = observed_minus_expected**2 / variance
    return chi2, float(stats.chi2.sf(chi2, 1))


def test_logrank_matches_the_textbook_formula_with_ties():
    durations = [1, 3, 4, 6, 6, 9, 2, 2, 5, 7, 8, 3]
    events = [1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    groups = pd.Series(["a"] * 6 + ["b"] * 6)
    frame = _frame(durations, events)

    result = logrank(frame, groups)
    chi2, p = _textbook_logrank(durations, events, groups == "a")

    assert result is not None
    assert result["statistic"] == pytest.approx(chi2, abs=1e-6)
    assert result["p"] == pytest.approx(p, rel=1e-6)
    assert result["df"] == 1
    assert result["pairs"][0]["p"] == pytest.approx(p, rel=1e-6)


def test_logrank_is_none_for_a_single_group():
    assert logrank(_frame([1, 2], [1, 0]), pd.Series(["x", "x"])) is None


def test_cox_reproduces_the_documented_rossi_hazard_ratios():
    """Rossi recidivism data (432 released prisoners, week of re-arrest): the coefficients
    published in Fox & Weisberg, "Cox Proportional-Hazards Regression for Survival Data in R"
    (appendix to An R Companion to Applied Regression) and in lifelines' documentation:
    fin −0.379, age −0.0574, race 0.314, wexp −0.150, mar −0.434, paro −0.0849, prio 0.0915."""
    from lifelines.datasets import load_rossi

    rossi = load_rossi().rename(columns={"week": "duration", "arrest": "event"})
    names = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    frame = AnalysisFrame(data=rossi.astype(float), numeric=names)

    rows = {r["covariate"]: r for r in cox_model(frame, names, penalizer=0.0)}

    published = {
        "fin": -0.379,
        "age": -0.0574,
        "race": 0.314,
        "wexp": -0.150,
        "mar": -0.434,
        "paro": -0.0849,
        "prio": 0.0915,
    }
    for name, coef in published.items():
        assert np.log(rows[name]["hazard_ratio"]) == pytest.approx(coef, abs=1.5e-3), name
        assert rows[name]["ci_low"] < rows[name]["hazard_ratio"] < rows[name]["ci_high"]
    assert rows["prio"]["p"] == pytest.approx(0.0014, abs=1e-4)


def test_cox_single_binary_covariate_matches_partial_likelihood_and_logrank():
    """One yes/no attribute, no tied times: maximise the partial log-likelihood
    ℓ(β) = Σ_{churned i} [β xᵢ − log Σ_{j: tⱼ ≥ tᵢ} exp(β xⱼ)] directly; the Cox HR is exp(β̂).
    The log-rank test on the same split points the same way, and Peto's one-step estimate
    exp((O − E)/V) is close to it."""
    rng = np.random.default_rng(7)
    n = 300
    x = (rng.random(n) < 0.4).astype(int)  # "b" (x = 1) is the rarer level
    durations = rng.exponential(1 / np.where(x == 1, 2.0, 1.0)) * 12
    censor = rng.exponential(24, n)
    events = (durations <= censor).astype(int)
    durations = np.minimum(durations, censor)
    frame = _frame(durations, events, categorical=["plan"], plan=np.where(x == 1, "b", "a"))
    assert (frame.data["plan"] == "a").sum() > (frame.data["plan"] == "b").sum()

    rows = cox_model(frame, ["plan"], penalizer=0.0)

    def negative_loglik(beta: float) -> float:
        order = np.argsort(-durations)
        risk = np.logaddexp.accumulate(beta * x[order])  # log Σ over t_j ≥ t_i
        return -float(np.sum((beta * x[order] - risk)[events[order] == 1]))

    beta = optimize.minimize_scalar(negative_loglik, bounds=(-5, 5), method="bounded").x
    assert [r["covariate"] for r in rows] == ["plan=b"]
    assert rows[0]["hazard_ratio"] == pytest.approx(np.exp(beta), rel=1e-4)
    assert 1.5 < rows[0]["hazard_ratio"] < 2.7  # true ratio 2

    chi2, _ = _textbook_logrank(durations, events, x == 1)
    o_minus_e = sum(
        ((durations == t) & (events == 1) & (x == 1)).sum()
        - ((durations == t) & (events == 1)).sum()
        * ((durations >= t) & (x == 1)).sum()
        / (durations >= t).sum()
        for t in durations[events == 1]
    )
    variance = o_minus_e**2 / chi2
    assert o_minus_e > 0
    assert np.exp(o_minus_e / variance) == pytest.approx(rows[0]["hazard_ratio"], rel=0.1)
    penalized = cox_model(frame, ["plan"])[0]["hazard_ratio"]
    assert penalized == pytest.approx(rows[0]["hazard_ratio"], rel=0.05)


def test_design_codes_levels_against_the_most_common_and_drops_duration_proxies():
    frame = _frame(
        [1, 2, 3, 4, 5, 6.0],
        [1, 0, 1, 0, 1, 0],
        numeric=["total", "seats"],
        categorical=["plan"],
        total=[10, 20, 30, 40, 50, 60.0],  # grows with tenure: a duration proxy
        seats=[3, None, 1, 5, 2, 4.0],
        plan=["pro", "pro", "basic", None, "pro", "basic"],
    )

    covariates = cox_covariates(frame)
    design = design_matrix(frame, covariates)

    assert covariates == ["seats", "plan"]
    assert list(design.columns) == ["seats", "plan=basic", "plan=missing"]
    assert design["seats"].tolist() == [3, 3, 1, 5, 2, 4]  # missing → median
    assert design["plan=basic"].tolist() == [0, 0, 1, 0, 0, 1]


def test_survival_report_has_groups_logrank_and_cox():
    rng = np.random.default_rng(3)
    plan = np.array(["monthly"] * 60 + ["annual"] * 40)
    durations = np.round(rng.exponential(np.where(plan == "monthly", 8, 30)), 2) + 0.01
    events = (durations < 24).astype(int)
    frame = _frame(np.minimum(durations, 24), events, categorical=["plan"], plan=plan)

    report = survival_report(frame, "plan")

    assert [g["label"] for g in report["groups"]] == ["annual", "monthly"]
    assert sum(g["accounts"] for g in report["groups"]) == 100
    assert report["logrank"]["p"] < 0.01
    (row,) = report["cox"]
    assert row["covariate"] == "plan=annual" and row["hazard_ratio"] < 1
    assert report["cox_reference_levels"] == {"plan": "monthly"}
