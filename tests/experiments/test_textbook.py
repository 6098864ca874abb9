"""Statistics checked against textbook examples with published answers and independent code."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tenure.experiments.stats import power
from tenure.experiments.stats.corrections import benjamini_hochberg, holm
from tenure.experiments.stats.frequentist import lift, t_test, two_proportion_z_test
from tenure.experiments.stats.moments import binary_moments, mean_moments
from tenure.experiments.stats.srm import srm_p_value

# Benjamini & Hochberg (1995), J. R. Stat. Soc. B 57(1), §4: the 15 p-values of their example.
BH_1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240,
           0.4262, 0.5719, 0.6528, 0.7590, 1.0000]  # fmt: skip


def test_physicians_health_study_two_proportions() -> None:
    """Agresti, Categorical Data Analysis (2nd ed.) §2.2: aspirin and myocardial infarction.

    Placebo 189/11034, aspirin 104/11037: difference 0.0077 with 95 % CI (0.005, 0.011),
    Pearson X² = 25.01 (so the pooled z is 5.00).
    """
    z, p = two_proportion_z_test(104, 11037, 189, 11034)
    assert float(z) ** 2 == pytest.approx(25.01, abs=0.01)
    assert float(p) < 1e-6
    diff = lift(binary_moments(11037, 104), binary_moments(11034, 189), relative=False)
    test = t_test(diff)
    assert float(diff.estimate) == pytest.approx(0.0077, abs=5e-5)
    assert float(test.ci_low) == pytest.approx(0.005, abs=5e-4)
    assert float(test.ci_high) == pytest.approx(0.011, abs=5e-4)


def test_welch_test_equals_scipy_on_raw_data() -> None:
    """From sufficient statistics, Welch's test equals scipy's ttest_ind on the raw values."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(10, 3, 40), rng.normal(11.5, 5, 25)
    moments = [mean_moments(x.size, x.sum(), (x**2).sum()) for x in (a, b)]
    test = t_test(lift(moments[0], moments[1], relative=False))
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert float(test.p_value) == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (float(test.ci_low), float(test.ci_high)) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_fleiss_sample_size_for_two_proportions() -> None:
    """Fleiss, Levin & Paik Table A.4: 0.05 vs 0.10, α = 0.05 two-sided, power 0.80 → 435."""
    assert power.sample_size_proportions(0.05, 0.10) == 435


def test_sample_size_power_and_mde_for_means_agree() -> None:
    """Cohen's d = 0.5 at 80 % power: 63 per arm by the normal formula; power and MDE invert it."""
    n = power.sample_size_means(0.5, 1.0)
    assert n == 63
    assert power.power_means(0.5, 1.0, n) == pytest.approx(0.80, abs=0.005)
    assert power.minimum_detectable_effect(1.0, 62.79) == pytest.approx(0.5, abs=1e-3)
    # The MDE of a proportion inverts the Fleiss sample size: 435 units find 0.05 → 0.10.
    assert power.minimum_detectable_lift_proportions(0.05, 434.4) == pytest.approx(1.0, abs=2e-3)
    lift_mde = power.minimum_detectable_lift_proportions(0.10, 10_000)
    assert power.sample_size_proportions(0.10, 0.10 * (1 + lift_mde)) == 10_000


def test_benjamini_hochberg_1995_example() -> None:
    """BH at q = 0.05 rejects the 4 smallest; Holm (like Bonferroni there) rejects 3."""
    assert int((benjamini_hochberg(BH_1995) < 0.05).sum()) == 4
    assert int((holm(BH_1995) < 0.05).sum()) == 3


def test_holm_and_bh_adjusted_values_by_hand() -> None:
    """Adjusted values for four p-values in scrambled order, worked by hand."""
    p = [0.04, 0.01, 0.03, 0.005]
    # Holm: sorted 0.005·4, 0.01·3, 0.03·2, 0.04·1 → 0.02, 0.03, 0.06, 0.06 (running max).
    assert holm(p) == pytest.approx([0.06, 0.03, 0.06, 0.02])
    # BH: sorted 0.005·4/1, 0.01·4/2, 0.03·4/3, 0.04·4/4 → 0.02, 0.02, 0.04, 0.04 (running min).
    assert benjamini_hochberg(p) == pytest.approx([0.04, 0.02, 0.04, 0.02])


def test_srm_equals_scipy_chisquare_and_flags_a_broken_split() -> None:
    """SRM is scipy's goodness-of-fit chi-square; 50 000 vs 51 000 on a 50/50 split is p ≈ 0.0017."""
    counts = [50_000, 51_000, 49_700]
    assert srm_p_value(counts) == pytest.approx(stats.chisquare(counts).pvalue, rel=1e-12)
    assert srm_p_value([50_000, 51_000]) == pytest.approx(0.00166, abs=2e-5)
    weighted = stats.chisquare([2000, 6150], f_exp=[8150 * 0.25, 8150 * 0.75]).pvalue
    assert srm_p_value([2000, 6150], [1, 3]) == pytest.approx(weighted, rel=1e-12)
