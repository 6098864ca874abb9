"""The written-down decision rule: ship, keep testing or stop (docs/experiments.md).

1. A sample-ratio mismatch (SRM p < 0.001) blocks every decision: keep testing, fix assignment.
2. A treatment *harms* a metric when the metric is significantly worse: Holm-adjusted p < alpha
   in the harmful direction (frequentist, sequential) or chance to win ≤ alpha (Bayesian).
   It *improves* it when significantly better in the same sense (chance to win ≥ 1 − alpha).
3. A treatment that harms any guardrail is stopped; so is one that harms a primary metric.
4. Ship the treatment that improves at least one primary (non-guardrail) metric and is not
   stopped; with several, the one with the largest improving lift on the first primary metric
   it improves.
5. Stop the experiment when every treatment is stopped; otherwise keep testing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from tenure.experiments.schemas import Decision, Method, MetricResult, VariantComparison
from tenure.experiments.stats.srm import SRM_THRESHOLD


@dataclass
class Verdict:
    """The decision, the treatment to ship (if any) and the reasons, in plain words."""

    decision: Decision
    winner: str | None = None
    reasons: list[str] = field(default_factory=list)


def _direction(row: VariantComparison, method: Method, alpha: float, lower_better: bool) -> int:
    """Return +1 if the treatment is significantly better, −1 if significantly worse, else 0."""
    if method is Method.BAYESIAN:
        if row.chance_to_win is None:
            return 0
        return 1 if row.chance_to_win >= 1 - alpha else -1 if row.chance_to_win <= alpha else 0
    if row.p_value_adjusted is None or row.lift is None or row.p_value_adjusted >= alpha:
        return 0
    better = row.lift < 0 if lower_better else row.lift > 0
    return 1 if better else -1


def decide(
    metrics: list[MetricResult],
    *,
    srm_p_value: float,
    method: Method,
    alpha: float,
    lower_is_better: Collection[str] = (),
) -> Verdict:
    """Apply the decision rule to the engine's comparisons."""
    if srm_p_value < SRM_THRESHOLD:
        return Verdict(
            Decision.KEEP_TESTING,
            reasons=[f"sample ratio mismatch (p = {srm_p_value:.2g}): no decision until fixed"],
        )
    treatments = [row.variant for row in metrics[0].variants[1:]] if metrics else []
    stopped: dict[str, str] = {}
    improved: dict[str, tuple[str, float]] = {}
    for metric in metrics:
        lower = metric.metric in lower_is_better
        for row in metric.variants[1:]:
            sign = _direction(row, method, alpha, lower)
            role = "guardrail" if metric.guardrail else "primary metric"
            if sign < 0 and row.variant not in stopped:
                stopped[row.variant] = f"{row.variant} harms {role} {metric.metric}"
            elif sign > 0 and not metric.guardrail and row.variant not in improved:
                improved[row.variant] = (metric.metric, abs(row.lift or 0.0))
    reasons = list(stopped.values())
    winners = {v: gain for v, gain in improved.items() if v not in stopped}
    if winners:
        best = max(winners, key=lambda v: winners[v][1])
        reasons.append(f"{best} improves {winners[best][0]} and harms no guardrail")
        return Verdict(Decision.SHIP, winner=best, reasons=reasons)
    if treatments and all(v in stopped for v in treatments):
        return Verdict(Decision.STOP, reasons=reasons)
    reasons.append("no treatment is significantly better on a primary metric yet")
    return Verdict(Decision.KEEP_TESTING, reasons=reasons)
