"""The success scorecard: the seed's criteria measured on the served monthly metrics.

The baseline period is `scorecard_period_months` months from `scorecard_baseline_start`, or by
default the months just before the programme started (its first play run, journey entry or
loyalty enrolment; the first served months without one); the current period is the same number
of the last complete months. Each
criterion's figure per period (the mean of its months):
  churn_reduction     logo churn rate (monthly); change = (baseline − current) / baseline
  clv_increase        survival LTV (ARPA × Weibull mean lifetime), else the ARPA / churn LTV
  retention_increase  logo retention compounded over 12 months, (1 − churn)^12
  csat_increase       CSAT: share of responses scoring 4–5
  revenue_retention   net revenue retention compounded over 12 months (graded on its level)
Where plays measured retention against a holdout, churn_reduction and retention_increase are
graded on the holdout comparison instead (pooled over plays with a `retained` goal).
Grades follow `tenure.reports.grading`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tenure.accounts.schemas import Money
from tenure.config import Settings
from tenure.metrics.months import month_of, month_text
from tenure.metrics.serving import stored_months
from tenure.plays.effect import play_effects
from tenure.reports import roi_cohorts
from tenure.reports.grading import (
    Criterion,
    annualised,
    grade_scorecard,
    period_mean,
)

DEFAULT_TARGETS = {
    "churn_reduction": [0.25, 0.40], "clv_increase": [0.20, 0.35],
    "retention_increase": [0.15, 0.25], "csat_increase": [0.30, 0.50],
    "revenue_retention": [0.95],
}  # fmt: skip


def period_figures(months: list[dict[str, Any]]) -> dict[str, float | None]:
    """Return each criterion's figure over a period of served months."""
    churn = period_mean([m.get("logo_churn_rate") for m in months])
    ltv = period_mean([m.get("ltv_survival") for m in months])
    if ltv is None:
        ltv = period_mean([m.get("ltv") for m in months])
    nrr = period_mean([m.get("nrr") for m in months])
    return {
        "churn_reduction": churn,
        "clv_increase": ltv,
        "retention_increase": None if churn is None else annualised(1 - churn),
        "csat_increase": period_mean([m.get("csat") for m in months]),
        "revenue_retention": annualised(nrr),
    }


def holdout_changes(session: Session, settings: Settings) -> dict[str, float | None]:
    """Return churn reduction and retention change measured against plays' holdouts (pooled)."""
    lines = [e for e in play_effects(session, Money.from_settings(settings))
             if e.measured and e.metric == "retained"]  # fmt: skip
    if not lines:
        return {}
    n_t, n_h = sum(e.treated for e in lines), sum(e.holdout for e in lines)
    kept_t = sum((e.treated_rate or 0) * e.treated for e in lines) / n_t
    kept_h = sum((e.holdout_rate or 0) * e.holdout for e in lines) / n_h
    if kept_h <= 0 or kept_h >= 1:
        return {}
    return {
        "churn_reduction": ((1 - kept_h) - (1 - kept_t)) / (1 - kept_h),
        "retention_increase": kept_t / kept_h - 1,
    }


def split_periods(
    months: list[dict[str, Any]], size: int, start: str | None, programme: date | None
) -> tuple[list[dict], list[dict]] | None:
    """Return (baseline, current) months, or None when they would overlap.

    The baseline starts at `start` when set, else it is the `size` months before the programme
    started, else the first served months.
    """
    names = [m["month"] for m in months]
    if start:
        first = next((i for i, name in enumerate(names) if name >= start), len(names))
    elif programme is not None:
        first = max(0, sum(name < f"{programme:%Y-%m}" for name in names) - size)
    else:
        first = 0
    baseline, current = months[first : first + size], months[-size:]
    if len(months) - first < 2 * size:
        return None
    return baseline, current


def scorecard(session: Session, settings: Settings, today: date) -> list[Criterion]:
    """Return every criterion graded, with the figure and the periods behind each grade."""
    targets = DEFAULT_TARGETS | settings.scorecard_targets
    size = settings.scorecard_period_months
    last = month_text(month_of(today) - 1)
    months = [m for m in stored_months(session) if m.get("month", "") <= last]
    start = settings.scorecard_baseline_start
    periods = split_periods(months, size, start, roi_cohorts.programme_start(session))
    if periods is None:
        reason = (f"needs {2 * size} complete served months after the baseline start, has "
                  f"{len(months)}; run `tenure pipeline run` over more history")  # fmt: skip
        return [Criterion(name, None, None, None, t, "n/a", reason) for name, t in targets.items()]
    baseline, current = periods
    base, now = period_figures(baseline), period_figures(current)
    span = (f"baseline {baseline[0]['month']}…{baseline[-1]['month']}, "
            f"current {current[0]['month']}…{current[-1]['month']}")  # fmt: skip
    evidence = {}
    for name in targets:
        missing = [label for label, v in (("baseline", base.get(name)), ("current", now.get(name)))
                   if v is None]  # fmt: skip
        evidence[name] = f"no {' or '.join(missing)} figure ({span})" if missing else span
    holdout = holdout_changes(session, settings)
    for name in holdout:
        evidence[name] += "; graded on plays vs their holdouts"
    return grade_scorecard(base, now, targets, holdout, evidence)


def scorecard_dicts(session: Session, settings: Settings, today: date) -> list[dict[str, Any]]:
    """Return the scorecard as JSON-ready dicts."""
    return [c.as_dict() for c in scorecard(session, settings, today)]
