"""The experiment statistics engine: sufficient statistics in, comparisons and a decision out.

Pure: it reads only the MetricSummary values it is given (see stats/ for the maths).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import replace

import numpy as np

from tenure.errors import InputError
from tenure.experiments.schemas import (
    ExperimentResult,
    Method,
    MetricKind,
    MetricResult,
    MetricSummary,
    VariantComparison,
)
from tenure.experiments.stats import bayesian, cuped, frequentist, sequential
from tenure.experiments.stats.corrections import benjamini_hochberg, holm
from tenure.experiments.stats.decision import decide
from tenure.experiments.stats.moments import Moments, moments_of
from tenure.experiments.stats.srm import srm_p_value


def _number(value: object) -> float | None:
    """Return a finite float, or None for NaN / infinity / None."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _arm_moments(
    control: MetricSummary, treatment: MetricSummary, kind: MetricKind
) -> tuple[Moments, Moments]:
    """Return both arms' moments, CUPED-adjusted when both carry the pre-period covariate."""
    if (
        kind is not MetricKind.RATIO
        and cuped.has_covariate(control)
        and cuped.has_covariate(treatment)
    ):
        theta = cuped.cuped_theta(control, treatment, kind)
        return (
            cuped.adjusted_moments(control, kind, theta),
            cuped.adjusted_moments(treatment, kind, theta),
        )
    return moments_of(control, kind), moments_of(treatment, kind)


MIN_OUTCOMES = 5  # per arm, of each outcome, for the normal approximation of a binary metric


def _enough_outcomes(*arms: MetricSummary) -> bool:
    """Tell whether every arm has at least MIN_OUTCOMES units with 1 and with 0.

    Below that the normal approximation fails (0 churns in 50 units has variance 0, and the
    relative lift an interval of width 0), so the engine reports the means without inference.
    """
    return all(MIN_OUTCOMES <= arm.sum <= arm.n - MIN_OUTCOMES for arm in arms)


def compare(
    control: MetricSummary,
    treatment: MetricSummary,
    kind: MetricKind,
    *,
    variant: str,
    method: Method = Method.FREQUENTIST,
    alpha: float = 0.05,
    lower_better: bool = False,
    prior: bayesian.GaussianPrior = bayesian.GaussianPrior(),
    tuning: float = sequential.DEFAULT_TUNING,
) -> VariantComparison:
    """Return one treatment's comparison with the control on one metric (unadjusted p)."""
    base, arm = _arm_moments(control, treatment, MetricKind(kind))
    abs_diff = _number(arm.mean - base.mean)
    usable = base.unadjusted_mean != 0 and base.n > 1 and arm.n > 1
    usable = usable and (base.variance > 0 or arm.variance > 0)
    usable = usable and (kind != MetricKind.BINARY or _enough_outcomes(control, treatment))
    if not usable:
        return VariantComparison(variant, treatment.n, float(arm.unadjusted_mean), abs_diff)
    rel = frequentist.lift(base, arm, relative=True)
    if method is Method.SEQUENTIAL:
        test = sequential.confidence_sequence(rel, base.n + arm.n, alpha, tuning)
    else:
        test = frequentist.t_test(rel, alpha)
    belief = prior if method is Method.BAYESIAN else bayesian.FLAT_PRIOR
    post = bayesian.posterior(rel, belief, alpha, lower_is_better=lower_better)
    low, high, point = test.ci_low, test.ci_high, rel.estimate
    if method is Method.BAYESIAN:
        low, high, point = post.ci_low, post.ci_high, post.mean
    return VariantComparison(
        variant=variant,
        n=treatment.n,
        mean=float(arm.unadjusted_mean),
        abs_diff=abs_diff,
        lift=_number(point),
        lift_ci_low=_number(low),
        lift_ci_high=_number(high),
        p_value=_number(test.p_value),
        chance_to_win=_number(post.chance_to_win),
        expected_loss=_number(post.expected_loss),
    )


def _check_inputs(
    summaries: Mapping[str, Mapping[str, MetricSummary]],
    kinds: Mapping[str, MetricKind],
    control: str,
    alpha: float,
) -> list[str]:
    """Return the variants (control first); raise InputError on inconsistent input."""
    if not summaries:
        raise InputError("an experiment analysis needs at least one metric")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    first = next(iter(summaries.values()))
    if control not in first:
        raise InputError(f"control variant {control!r} is not among {sorted(first)}")
    if len(first) < 2:
        raise InputError("an experiment needs at least two variants")
    for metric, per_variant in summaries.items():
        if metric not in kinds:
            raise InputError(f"metric {metric!r} has no kind")
        if set(per_variant) != set(first):
            raise InputError(f"metric {metric!r} does not cover the same variants")
        if kinds[metric] is MetricKind.RATIO and any(
            s.denominator_sum is None for s in per_variant.values()
        ):
            raise InputError(f"ratio metric {metric!r} needs denominator sums")
    return [control, *(v for v in first if v != control)]


def _split(weights: Mapping[str, float] | None, variants: list[str]) -> list[float] | None:
    """Return the designed split in variant order; raise InputError unless it covers them all."""
    if not weights:
        return None
    if set(weights) != set(variants) or any(float(w) <= 0 for w in weights.values()):
        raise InputError(f"weights must give a positive share to each of {', '.join(variants)}")
    return [float(weights[v]) for v in variants]


def _adjust(metrics: list[MetricResult]) -> list[MetricResult]:
    """Return the metrics with Holm and BH p-values over every variant × metric comparison."""
    rows = [
        (i, j)
        for i, m in enumerate(metrics)
        for j, r in enumerate(m.variants)
        if r.p_value is not None
    ]
    if not rows:
        return metrics
    raw = np.array([metrics[i].variants[j].p_value for i, j in rows])
    for (i, j), h, b in zip(rows, holm(raw), benjamini_hochberg(raw), strict=True):
        metrics[i].variants[j] = replace(
            metrics[i].variants[j], p_value_adjusted=float(h), p_value_bh=float(b)
        )
    return metrics


def analyze_experiment(
    summaries: Mapping[str, Mapping[str, MetricSummary]],
    kinds: Mapping[str, MetricKind],
    control: str,
    *,
    counts: Mapping[str, int] | None = None,
    weights: Mapping[str, float] | None = None,
    method: Method = Method.FREQUENTIST,
    guardrails: Collection[str] = (),
    alpha: float = 0.05,
    lower_is_better: Collection[str] = (),
    prior: bayesian.GaussianPrior = bayesian.GaussianPrior(),
    sequential_tuning: float = sequential.DEFAULT_TUNING,
) -> ExperimentResult:
    """Compare every treatment with the control on every metric, check SRM, and decide."""
    variants = _check_inputs(summaries, kinds, control, alpha)
    first = next(iter(summaries.values()))
    units = {v: int((counts or {}).get(v, first[v].n)) for v in variants}
    split = _split(weights, variants)
    srm = srm_p_value([units[v] for v in variants], split)
    results = []
    for metric, per_variant in summaries.items():
        kind = MetricKind(kinds[metric])
        base = per_variant[control]
        rows = [VariantComparison(control, base.n, float(moments_of(base, kind).mean))]
        rows += [
            compare(
                base,
                per_variant[v],
                kind,
                variant=v,
                method=method,
                alpha=alpha,
                lower_better=metric in lower_is_better,
                prior=prior,
                tuning=sequential_tuning,
            )
            for v in variants[1:]
        ]
        results.append(MetricResult(metric, kind, rows, guardrail=metric in guardrails))
    results = _adjust(results)
    verdict = decide(
        results, srm_p_value=srm, method=method, alpha=alpha, lower_is_better=lower_is_better
    )
    return ExperimentResult(
        control=control,
        srm_p_value=srm,
        units=sum(units.values()),
        metrics=results,
        method=method,
        decision=verdict.decision,
        reasons=verdict.reasons,
        winner=verdict.winner,
    )
