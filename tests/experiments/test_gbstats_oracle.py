"""The engine agrees with GrowthBook's gbstats (test-only oracle) to 1e-6 on the same inputs."""

from __future__ import annotations

import pytest

from tenure.experiments.engine import analyze_experiment, compare
from tenure.experiments.schemas import Method, MetricKind, MetricSummary
from tenure.experiments.stats.bayesian import GaussianPrior
from tenure.experiments.stats.srm import srm_p_value

gb_freq = pytest.importorskip("gbstats.frequentist.tests")
gb_bayes = pytest.importorskip("gbstats.bayesian.tests")
gb_stats = pytest.importorskip("gbstats.models.statistics")
gb_utils = pytest.importorskip("gbstats.utils")

TOL = 1e-6

BINARY = (MetricSummary(n=4821, sum=512, sum_squares=512), MetricSummary(5012, 601, 601))
MEAN = (MetricSummary(3107, 9342.5, 61220.8), MetricSummary(3154, 9870.1, 66015.3))
RATIO = (
    MetricSummary(
        2000,
        1510.0,
        4102.0,
        denominator_sum=6110.0,
        denominator_sum_squares=25903.0,
        denominator_cross_sum=6011.0,
    ),
    MetricSummary(
        2040,
        1690.0,
        4800.0,
        denominator_sum=6205.0,
        denominator_sum_squares=26500.0,
        denominator_cross_sum=6650.0,
    ),
)
CUPED_MEAN = (
    MetricSummary(
        3107, 9342.5, 61220.8, pre_sum=9011.0, pre_sum_squares=52011.0, pre_cross_sum=49500.0
    ),
    MetricSummary(
        3154, 9870.1, 66015.3, pre_sum=9150.0, pre_sum_squares=53120.0, pre_cross_sum=52100.0
    ),
)
CUPED_BINARY = (
    MetricSummary(4821, 512, 512, pre_sum=1510.0, pre_sum_squares=3400.0, pre_cross_sum=390.0),
    MetricSummary(5012, 601, 601, pre_sum=1555.0, pre_sum_squares=3490.0, pre_cross_sum=440.0),
)


def _gb(summary: MetricSummary, kind: MetricKind):
    """Return the gbstats statistic for a summary."""
    if kind is MetricKind.BINARY:
        post = gb_stats.ProportionStatistic(n=summary.n, sum=summary.sum)
    else:
        post = gb_stats.SampleMeanStatistic(
            n=summary.n, sum=summary.sum, sum_squares=summary.sum_squares
        )
    if summary.pre_sum is not None:
        pre = gb_stats.SampleMeanStatistic(
            n=summary.n, sum=summary.pre_sum, sum_squares=summary.pre_sum_squares
        )
        return gb_stats.RegressionAdjustedStatistic(
            n=summary.n,
            post_statistic=post,
            pre_statistic=pre,
            post_pre_sum_of_products=summary.pre_cross_sum,
            theta=0,
        )
    if kind is MetricKind.RATIO:
        den = gb_stats.SampleMeanStatistic(
            n=summary.n, sum=summary.denominator_sum, sum_squares=summary.denominator_sum_squares
        )
        return gb_stats.RatioStatistic(
            n=summary.n,
            m_statistic=post,
            d_statistic=den,
            m_d_sum_of_products=summary.denominator_cross_sum,
        )
    return post


CASES = [
    (BINARY, MetricKind.BINARY),
    (MEAN, MetricKind.MEAN),
    (RATIO, MetricKind.RATIO),
    (CUPED_MEAN, MetricKind.MEAN),
    (CUPED_BINARY, MetricKind.BINARY),
]


@pytest.mark.parametrize(("pair", "kind"), CASES)
def test_frequentist_relative_lift_matches_gbstats(pair, kind) -> None:
    """Lift, its 95 % interval and the Welch p-value equal gbstats' TwoSidedTTest."""
    ours = compare(pair[0], pair[1], kind, variant="b")
    ref = gb_freq.TwoSidedTTest(_gb(pair[0], kind), _gb(pair[1], kind)).compute_result()
    assert ours.lift == pytest.approx(ref.expected, abs=TOL)
    assert ours.lift_ci_low == pytest.approx(ref.ci[0], abs=TOL)
    assert ours.lift_ci_high == pytest.approx(ref.ci[1], abs=TOL)
    assert ours.p_value == pytest.approx(ref.p_value, abs=TOL)


@pytest.mark.parametrize(("pair", "kind"), CASES)
def test_sequential_matches_gbstats(pair, kind) -> None:
    """The confidence sequence and always-valid p-value equal gbstats' SequentialTwoSidedTTest."""
    ours = compare(pair[0], pair[1], kind, variant="b", method=Method.SEQUENTIAL, tuning=5000)
    config = gb_freq.SequentialConfig(sequential_tuning_parameter=5000)
    ref = gb_freq.SequentialTwoSidedTTest(
        _gb(pair[0], kind), _gb(pair[1], kind), config
    ).compute_result()
    assert ours.lift_ci_low == pytest.approx(ref.ci[0], abs=TOL)
    assert ours.lift_ci_high == pytest.approx(ref.ci[1], abs=TOL)
    assert ours.p_value == pytest.approx(ref.p_value, abs=TOL)


@pytest.mark.parametrize("proper", [True, False])
@pytest.mark.parametrize(("pair", "kind"), CASES)
def test_bayesian_matches_gbstats(pair, kind, proper) -> None:
    """Posterior lift, credible interval, chance to win and expected loss equal gbstats'."""
    prior = GaussianPrior(mean=0.02, variance=0.3**2, proper=proper)
    ours = compare(pair[0], pair[1], kind, variant="b", method=Method.BAYESIAN, prior=prior)
    config = gb_bayes.EffectBayesianConfig(
        prior_effect=gb_bayes.GaussianPrior(mean=0.02, variance=0.3**2, proper=proper),
        prior_type="relative",
    )
    ref = gb_bayes.EffectBayesianABTest(
        _gb(pair[0], kind), _gb(pair[1], kind), config
    ).compute_result()
    assert ours.lift == pytest.approx(ref.expected, abs=TOL)
    assert ours.lift_ci_low == pytest.approx(ref.ci[0], abs=TOL)
    assert ours.lift_ci_high == pytest.approx(ref.ci[1], abs=TOL)
    assert ours.chance_to_win == pytest.approx(ref.chance_to_win, abs=TOL)
    assert ours.expected_loss == pytest.approx(ref.risk[1], abs=TOL)


@pytest.mark.parametrize(
    ("counts", "weights"),
    [([5000, 5100], [0.5, 0.5]), ([3300, 3350, 3210], [1, 1, 1]), ([2000, 6150], [0.25, 0.75])],
)
def test_srm_matches_gbstats(counts, weights) -> None:
    """The chi-square SRM p-value equals gbstats' check_srm."""
    assert srm_p_value(counts, weights) == pytest.approx(
        gb_utils.check_srm(counts, weights), abs=TOL
    )


def test_engine_end_to_end_matches_gbstats_per_variant() -> None:
    """Through analyze_experiment, each treatment's figures equal gbstats' pairwise test."""
    control, one = MEAN
    two = MetricSummary(3080, 9001.2, 57999.0)
    result = analyze_experiment(
        {"revenue": {"a": control, "b": one, "c": two}}, {"revenue": "mean"}, "a"
    )
    for row, treatment in zip(result.metrics[0].variants[1:], (one, two), strict=True):
        ref = gb_freq.TwoSidedTTest(
            _gb(control, MetricKind.MEAN), _gb(treatment, MetricKind.MEAN)
        ).compute_result()
        assert row.lift == pytest.approx(ref.expected, abs=TOL)
        assert row.p_value == pytest.approx(ref.p_value, abs=TOL)
