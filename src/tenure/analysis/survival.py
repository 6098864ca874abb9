"""Survival of accounts: Kaplan–Meier curves per group, log-rank tests, a Cox PH model.

Durations are months of tenure and the event is churn (see :mod:`tenure.analysis.frame`);
accounts still customers at the as-of date are right-censored there.

* Kaplan–Meier (lifelines ``KaplanMeierFitter``): S(t) = Πᵢ:tᵢ≤t (1 − dᵢ/nᵢ), with
  exponential-Greenwood 95 % bands; the median lifetime is the first t with S(t) ≤ 0.5
  (``None`` when the curve never gets there).
* Log-rank (``multivariate_logrank_test``, and ``pairwise_logrank_test`` between each pair of
  groups): H₀ = the groups share one hazard; χ² with (groups − 1) degrees of freedom.
* Cox proportional hazards (``CoxPHFitter``, ridge penalizer :data:`PENALIZER`): each
  categorical attribute is one-hot coded against its most common level (so ``Contract=Two year``
  reads "vs Month-to-month" on Telco) with missing as a level; numeric attributes enter per unit,
  missing filled with the median. Numeric attributes that are proxies for the duration itself
  (|Spearman ρ| ≥ :data:`DURATION_PROXY` with it, e.g. Telco's ``tenure`` and
  ``TotalCharges``) or copies of an earlier covariate (|ρ| ≥ 0.99, e.g. ``mrr`` and
  ``MonthlyCharges``) are left out: they would explain the outcome with itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test

from tenure.analysis.drivers import cohort_labels
from tenure.analysis.frame import AnalysisFrame

PENALIZER = 0.01
DURATION_PROXY = 0.7
COPY = 0.99
ALL = "all"


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def _p(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass
class KMGroup:
    """One group's Kaplan–Meier curve."""

    label: str
    accounts: int
    events: int
    median_lifetime: float | None
    curve: pd.DataFrame  # columns t, survival, ci_low, ci_high

    def survival_at(self, months: float) -> float:
        """Return S(months) (step function, 1 before the first event)."""
        before = self.curve[self.curve["t"] <= months]
        return float(before["survival"].iloc[-1]) if len(before) else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "label": self.label,
            "accounts": self.accounts,
            "events": self.events,
            "median_lifetime": _round(self.median_lifetime),
            "curve": [
                {
                    "t": _round(float(r.t)),
                    "survival": _round(float(r.survival)),
                    "ci_low": _round(float(r.ci_low)),
                    "ci_high": _round(float(r.ci_high)),
                }
                for r in self.curve.itertuples()
            ],
        }


def kaplan_meier(durations: pd.Series, events: pd.Series, label: str = ALL) -> KMGroup:
    """Fit one Kaplan–Meier curve."""
    fitter = KaplanMeierFitter().fit(durations, events, label=label)
    bands = fitter.confidence_interval_survival_function_
    curve = pd.DataFrame(
        {
            "t": fitter.survival_function_.index.to_numpy(float),
            "survival": fitter.survival_function_[label].to_numpy(float),
            "ci_low": bands.iloc[:, 0].to_numpy(float),
            "ci_high": bands.iloc[:, 1].to_numpy(float),
        }
    )
    return KMGroup(
        label=label,
        accounts=len(durations),
        events=int(events.sum()),
        median_lifetime=_finite(fitter.median_survival_time_),
        curve=curve,
    )


def group_labels(frame: AnalysisFrame, by: str | None) -> pd.Series:
    """Return each account's group: its level of ``by`` (deciles if numeric) or ``all``."""
    data = frame.data
    if by is None:
        return pd.Series(ALL, index=data.index)
    return pd.Series(np.asarray(cohort_labels(data[by])).astype(str), index=data.index)


def km_by_group(frame: AnalysisFrame, groups: pd.Series) -> list[KMGroup]:
    """Return one Kaplan–Meier curve per group, in the groups' order of appearance sorted."""
    data = frame.data
    order = list(pd.unique(groups))
    if isinstance(groups.dtype, pd.CategoricalDtype):
        order = [c for c in groups.cat.categories if c in set(order)]
    else:
        order = sorted(order, key=str)
    return [
        kaplan_meier(data.loc[groups == g, "duration"], data.loc[groups == g, "event"], str(g))
        for g in order
    ]


def logrank(frame: AnalysisFrame, groups: pd.Series) -> dict[str, Any] | None:
    """Return the multivariate log-rank test and every pairwise one, or None for one group."""
    data = frame.data
    if groups.nunique() < 2:
        return None
    overall = multivariate_logrank_test(data["duration"], groups, data["event"])
    pairs = pairwise_logrank_test(data["duration"], groups, data["event"]).summary
    return {
        "test": "log-rank",
        "statistic": _round(float(overall.test_statistic)),
        "df": int(overall.degrees_of_freedom),
        "p": _p(overall.p_value),
        "pairs": [
            {
                "a": str(a),
                "b": str(b),
                "statistic": _round(float(row["test_statistic"])),
                "p": _p(row["p"]),
            }
            for (a, b), row in pairs.iterrows()
        ],
    }


def cox_covariates(frame: AnalysisFrame) -> list[str]:
    """Return the features entering the Cox model (duration proxies and copies left out)."""
    data = frame.data
    duration_rank = data["duration"].rank()
    kept: list[str] = []
    for name in frame.numeric:
        ranks = data[name].rank()
        if ranks.nunique() < 2:
            continue
        if abs(ranks.corr(duration_rank)) >= DURATION_PROXY:
            continue
        if any(abs(ranks.corr(data[k].rank())) >= COPY for k in kept):
            continue
        kept.append(name)
    return kept + [c for c in frame.categorical if data[c].nunique() > 1]


def design_matrix(frame: AnalysisFrame, covariates: list[str]) -> pd.DataFrame:
    """Return the Cox design: numeric as is (median-filled), categorical one-hot vs the mode."""
    data = frame.data
    columns: dict[str, pd.Series] = {}
    for name in covariates:
        values = data[name]
        if name in frame.numeric:
            columns[name] = values.fillna(values.median()).astype(float)
            continue
        levels = values.fillna("missing").astype(str)
        counts = levels.value_counts()
        reference = sorted(counts[counts == counts.max()].index)[0]
        for level in sorted(counts.index):
            if level != reference:
                columns[f"{name}={level}"] = (levels == level).astype(float)
    return pd.DataFrame(columns, index=data.index)


def reference_levels(frame: AnalysisFrame, covariates: list[str]) -> dict[str, str]:
    """Return the reference (most common) level of each categorical covariate."""
    out = {}
    for name in covariates:
        if name in frame.categorical:
            counts = frame.data[name].fillna("missing").astype(str).value_counts()
            out[name] = sorted(counts[counts == counts.max()].index)[0]
    return out


def cox_model(
    frame: AnalysisFrame, covariates: list[str] | None = None, penalizer: float = PENALIZER
) -> list[dict[str, Any]]:
    """Fit the Cox PH model; return hazard ratios with 95 % CIs and p, strongest first."""
    chosen = cox_covariates(frame) if covariates is None else covariates
    design = design_matrix(frame, chosen)
    if design.empty or frame.data["event"].sum() == 0:
        return []
    design = design.assign(duration=frame.data["duration"], event=frame.data["event"])
    fitter = CoxPHFitter(penalizer=penalizer).fit(design, "duration", "event")
    summary = fitter.summary
    rows = [
        {
            "covariate": str(name),
            "hazard_ratio": _round(float(row["exp(coef)"])),
            "ci_low": _round(float(row["exp(coef) lower 95%"])),
            "ci_high": _round(float(row["exp(coef) upper 95%"])),
            "p": _p(row["p"]),
        }
        for name, row in summary.iterrows()
    ]
    return sorted(rows, key=lambda r: (r["p"] if r["p"] is not None else 2.0, r["covariate"]))


def survival_report(frame: AnalysisFrame, by: str | None = None) -> dict[str, Any]:
    """Return the JSON object of the survival analysis."""
    data = frame.data
    groups = group_labels(frame, by)
    overall = kaplan_meier(data["duration"], data["event"])
    covariates = cox_covariates(frame)
    return {
        "accounts": len(data),
        "events": int(data["event"].sum()),
        "by": by,
        "median_lifetime": _round(overall.median_lifetime),
        "groups": [g.to_dict() for g in km_by_group(frame, groups)],
        "logrank": logrank(frame, groups),
        "cox": cox_model(frame, covariates),
        "cox_reference_levels": reference_levels(frame, covariates),
    }
