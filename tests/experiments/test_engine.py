"""analyze_experiment: SRM, Holm across the family, guardrails and the decision rule, bad input."""

from __future__ import annotations

import pytest

from tenure.errors import InputError
from tenure.experiments.engine import analyze_experiment
from tenure.experiments.schemas import Decision, Method, MetricKind, MetricSummary
from tenure.experiments.stats.corrections import holm


def binary(n: int, successes: int) -> MetricSummary:
    """Return the summary of a 0/1 metric."""
    return MetricSummary(n, float(successes), float(successes))


KINDS = {"converted": MetricKind.BINARY, "churned": MetricKind.BINARY}


def test_holm_runs_across_every_variant_and_metric() -> None:
    """Four comparisons (2 treatments × 2 metrics) form one Holm family."""
    summaries = {
        "converted": {"a": binary(5000, 500), "b": binary(5000, 560), "c": binary(5000, 530)},
        "churned": {"a": binary(5000, 300), "b": binary(5000, 280), "c": binary(5000, 330)},
    }
    result = analyze_experiment(summaries, KINDS, "a")
    rows = [r for m in result.metrics for r in m.variants[1:]]
    expected = holm([r.p_value for r in rows])
    assert [r.p_value_adjusted for r in rows] == pytest.approx(list(expected))
    assert all(r.p_value_bh <= r.p_value_adjusted for r in rows)
    assert result.metrics[0].variants[0].p_value is None  # the control row carries no test


def test_sample_ratio_mismatch_blocks_a_clear_win() -> None:
    """A huge lift is not shipped when the split is 5000 vs 5600 on a 50/50 design."""
    summaries = {"converted": {"a": binary(5000, 400), "b": binary(5600, 800)}}
    result = analyze_experiment(summaries, KINDS, "a")
    assert result.srm_p_value < 0.001
    assert result.decision is Decision.KEEP_TESTING
    assert "sample ratio mismatch" in result.reasons[0]
    weighted = analyze_experiment(summaries, KINDS, "a", weights={"a": 5000, "b": 5600})
    assert weighted.decision is Decision.SHIP and weighted.winner == "b"


def test_counts_override_the_first_metric_for_srm() -> None:
    """Explicit unit counts are what SRM tests and what `units` adds up."""
    summaries = {"converted": {"a": binary(5000, 400), "b": binary(5000, 420)}}
    result = analyze_experiment(summaries, KINDS, "a", counts={"a": 5000, "b": 5600})
    assert result.units == 10_600
    assert result.srm_p_value < 0.001


def test_guardrail_harm_stops_a_winning_treatment() -> None:
    """b lifts conversion but raises churn (lower is better, a guardrail): stop, not ship."""
    summaries = {
        "converted": {"a": binary(8000, 800), "b": binary(8000, 1000)},
        "churned": {"a": binary(8000, 400), "b": binary(8000, 560)},
    }
    kwargs = {"guardrails": ["churned"], "lower_is_better": ["churned"]}
    result = analyze_experiment(summaries, KINDS, "a", **kwargs)
    assert result.decision is Decision.STOP
    assert "harms guardrail churned" in result.reasons[0]
    assert result.metrics[1].variants[1].chance_to_win < 0.01
    summaries["churned"]["b"] = binary(8000, 390)
    assert analyze_experiment(summaries, KINDS, "a", **kwargs).decision is Decision.SHIP


def test_bayesian_decision_reads_chance_to_win() -> None:
    """With the Bayesian method the same clear win ships on chance to win ≥ 95 %."""
    summaries = {"converted": {"a": binary(8000, 800), "b": binary(8000, 1000)}}
    result = analyze_experiment(summaries, KINDS, "a", method=Method.BAYESIAN)
    assert result.metrics[0].variants[1].chance_to_win > 0.99
    assert result.decision is Decision.SHIP


def test_no_difference_keeps_testing() -> None:
    """An A/A-like result is neither shipped nor stopped."""
    summaries = {"converted": {"a": binary(5000, 500), "b": binary(5000, 505)}}
    assert analyze_experiment(summaries, KINDS, "a").decision is Decision.KEEP_TESTING


def test_zero_control_mean_gives_no_lift_instead_of_an_error() -> None:
    """A control with no conversions has no relative lift: the comparison is left empty."""
    summaries = {"converted": {"a": binary(100, 0), "b": binary(100, 3)}}
    row = analyze_experiment(summaries, KINDS, "a").metrics[0].variants[1]
    assert row.lift is None and row.p_value is None
    assert row.abs_diff == pytest.approx(0.03)


def test_bad_weights_or_alpha_are_input_errors() -> None:
    """Weights must cover every variant with a positive share; alpha lies in (0, 1)."""
    summaries = {"converted": {"a": binary(10, 1), "b": binary(10, 2)}}
    with pytest.raises(InputError, match="weights"):
        analyze_experiment(summaries, KINDS, "a", weights={"a": 1.0})
    with pytest.raises(InputError, match="weights"):
        analyze_experiment(summaries, KINDS, "a", weights={"a": 1.0, "b": 0.0})
    with pytest.raises(InputError, match="alpha"):
        analyze_experiment(summaries, KINDS, "a", alpha=5)


@pytest.mark.parametrize(
    ("summaries", "control", "message"),
    [
        ({}, "a", "at least one metric"),
        ({"converted": {"a": binary(10, 1)}}, "a", "two variants"),
        ({"converted": {"a": binary(10, 1), "b": binary(10, 2)}}, "z", "not among"),
        (
            {
                "converted": {"a": binary(10, 1), "b": binary(10, 2)},
                "churned": {"a": binary(10, 1)},
            },
            "a",
            "same variants",
        ),
    ],
)
def test_inconsistent_input_is_an_input_error(summaries, control, message) -> None:
    """Bad summaries raise InputError (exit 2 / HTTP 4xx), never a crash."""
    with pytest.raises(InputError, match=message):
        analyze_experiment(summaries, KINDS, control)


def test_lower_is_better_flips_chance_to_win_but_not_the_lift() -> None:
    """For churn, a drop is a win: the lift stays negative, chance to win is P(lift < 0)."""
    summaries = {"churned": {"a": binary(8000, 560), "b": binary(8000, 400)}}
    for method in Method:
        plain = analyze_experiment(summaries, KINDS, "a", method=method)
        flipped = analyze_experiment(
            summaries, KINDS, "a", method=method, lower_is_better=["churned"]
        )
        a, b = plain.metrics[0].variants[1], flipped.metrics[0].variants[1]
        assert a.lift == b.lift < 0
        assert b.chance_to_win == pytest.approx(1 - a.chance_to_win)
        assert b.expected_loss < a.expected_loss
