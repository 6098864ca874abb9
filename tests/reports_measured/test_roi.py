"""ROI, measured: the arithmetic against hand-computed values, lines from the app DB, the CLI."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.loyalty.models import LoyaltyEnrolment
from tenure.reports import measured
from tenure.reports.roi import MEASURED, NOT_MEASURED, programme_line, roi_lines, unmeasured_line

from ..factories import DAY, add_account, add_subscription

KEYS = {"name", "mrr_kept", "mrr_kept_ci_low", "mrr_kept_ci_high", "cost", "roi", "roi_ci_low",
        "roi_ci_high", "projected_12m", "status"}  # fmt: skip


def test_lifetime_roi_and_projection_match_hand_computed_values():
    """80 % survival over 90 days: h = −ln 0.8 / (90 / 30.4375) = 0.07547 a month."""
    # ln(0.8) = −0.2231436; 90 / 30.4375 = 2.9568788; h = 0.0754659; 1 / h = 13.2510
    assert measured.lifetime_months(0.8, 90) == pytest.approx(13.2510, abs=1e-3)
    assert measured.lifetime_months(1.0, 90) == measured.MAX_LIFETIME_MONTHS
    assert measured.lifetime_months(0.0, 90) is None
    # 100 kept a month for 12 months against a cost of 600: (1200 − 600) / 600 = 1
    assert measured.roi(100.0, 12.0, 600.0) == pytest.approx(1.0)
    assert measured.roi(100.0, 12.0, 0.0) is None
    # lifetime 10 months: 100 × Σ_{m=1..12} e^{−m/10} = 100 × r(1 − r^12)/(1 − r), r = e^{−0.1}
    # = 100 × 0.9048374 × 0.6988058 / 0.0951626 = 664.45
    assert measured.projected_value(100.0, 10.0) == pytest.approx(664.45, abs=0.01)


def test_arm_difference_is_welchs_interval():
    rng = np.random.default_rng(5)
    treated, holdout = rng.random(80) < 0.9, rng.random(40) < 0.75
    diff = measured.arm_difference(treated.astype(float), holdout.astype(float))
    welch = stats.ttest_ind(treated, holdout, equal_var=False).confidence_interval(0.95)
    assert diff.estimate == pytest.approx(treated.mean() - holdout.mean())
    assert (diff.ci_low, diff.ci_high) == pytest.approx((welch.low, welch.high))
    assert measured.arm_difference(np.ones(4), np.ones(30)) is None  # 4 < MIN_PER_ARM


def test_an_arm_without_variation_gives_no_interval():
    """5 of 5 holdout accounts retained: variance 0, Welch's interval would be too narrow."""
    treated, holdout = np.r_[np.ones(30), np.zeros(8)], np.ones(5)
    assert measured.arm_difference(treated, holdout) is None
    assert "every holdout outcome is the same" in measured.unmeasured_reason(treated, holdout)
    assert "fewer than 5" in measured.unmeasured_reason(treated, np.r_[1.0, 0.0])
    assert measured.unmeasured_reason(treated, np.r_[np.ones(5), 0.0]) is None


def test_programme_line_sums_lines_and_adds_variances_and_the_tool_cost():
    """Two lines: MRR kept 100 ± 39.2 and 50 ± 19.6 (se 20 and 10), lifetimes 10 and 20."""
    z = 1.959963984540054
    a = measured_line_for(100.0, 20.0, 10.0, cost=300.0)
    b = measured_line_for(50.0, 10.0, 20.0, cost=200.0)
    idle = unmeasured_line("journey:x", "journey", (3, 1), 50.0, "too few")
    line = programme_line([a, b, idle], tool_cost=450.0)
    assert line.status == MEASURED and line.cost == 1000.0  # every line's cost + the tool's
    assert line.mrr_kept == 150.0
    se = math.sqrt(20**2 + 10**2)  # 22.3607
    assert (line.mrr_kept_ci_low, line.mrr_kept_ci_high) == pytest.approx((150 - z * se,
                                                                           150 + z * se))  # fmt: skip
    # value = 100 × 10 + 50 × 20 = 2000; ROI = (2000 − 1000) / 1000 = 1
    assert line.roi == pytest.approx(1.0)
    value_se = math.sqrt((20 * 10) ** 2 + (10 * 20) ** 2)  # 282.84
    assert line.roi_ci_low == pytest.approx((2000 - z * value_se - 1000) / 1000)
    assert programme_line([idle], 10.0).status == NOT_MEASURED


def measured_line_for(mrr: float, se: float, lifetime: float, cost: float):
    """Return a measured line with a symmetric 95 % interval of the given standard error."""
    from tenure.reports.roi import measured_line

    z = 1.959963984540054
    return measured_line("x", "play", (50, 50), (mrr, mrr - z * se, mrr + z * se), lifetime, cost)


def _loyalty_book(session, rng):
    """Enrol 60 members (90 % keep their MRR) and 30 holdout (70 %) 120 days before DAY."""
    enrolled = datetime.combine(DAY - timedelta(days=120), datetime.min.time(), tzinfo=UTC)
    lost_at = enrolled + timedelta(days=30)
    kept = {"member": rng.random(60) < 0.9, "holdout": rng.random(30) < 0.7}
    for arm, flags in kept.items():
        for i, stays in enumerate(flags):
            account = add_account(session, f"{arm}-{i}")
            add_subscription(session, account, ended_at=None if stays else lost_at)
            session.add(LoyaltyEnrolment(account_id=account.id, arm=arm, enrolled_at=enrolled))
    session.flush()
    return {arm: flags.astype(float) for arm, flags in kept.items()}


def test_loyalty_line_matches_an_independent_computation(any_engine, any_settings):
    rng = np.random.default_rng(3)
    with session_scope(any_engine) as session:
        kept = _loyalty_book(session, rng)
        lines = {line.name: line for line in roi_lines(session, any_settings, DAY)}
    line = lines["loyalty"]
    t, h = kept["member"], kept["holdout"]
    welch = stats.ttest_ind(t, h, equal_var=False).confidence_interval(0.95)
    base = 60 * 100.0  # every member had 100.00 MRR on entry
    assert line.status == MEASURED and (line.treated, line.holdout) == (60, 30)
    assert line.mrr_kept == pytest.approx((t.mean() - h.mean()) * base)
    assert line.mrr_kept_ci_low == pytest.approx(welch.low * base)
    lifetime = 1 / (-math.log(h.mean()) / (90 / 30.4375))
    assert line.lifetime_months == pytest.approx(lifetime)
    assert line.cost == 0.0 and line.roi is None  # nothing redeemed: no cost, no ratio
    assert lines["programme"].mrr_kept == pytest.approx(line.mrr_kept)


def test_a_line_without_holdout_outcomes_is_not_measured(engine, settings):
    with session_scope(engine) as session:
        account = add_account(session, "new")
        add_subscription(session, account)
        enrolled = datetime(2025, 6, 1, tzinfo=UTC)  # 29 days before DAY: horizon not reached
        session.add(LoyaltyEnrolment(account_id=account.id, arm="holdout", enrolled_at=enrolled))
        session.flush()
        lines = {line.name: line for line in roi_lines(session, settings, DAY)}
    line = lines["loyalty"]
    assert line.status == NOT_MEASURED and line.mrr_kept is None and line.roi is None
    assert "90 days after entry" in line.reason
    assert lines["programme"].status == NOT_MEASURED


def test_cli_roi_json_has_the_issue_keys(engine, settings, cli, monkeypatch, frozen_clock):
    monkeypatch.setenv("TENURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TENURE_ROI_TOOL_MONTHLY_COST", "100")
    with session_scope(engine) as session:
        _loyalty_book(session, np.random.default_rng(4))
    result = cli.invoke(app, ["reports", "roi", "--json"])
    assert result.exit_code == 0, result.output
    lines = json.loads(result.stdout)
    assert [line["name"] for line in lines] == ["programme", "loyalty"]
    assert all(set(line) >= KEYS for line in lines)
    # four months of the tool (120 days / 30.4375 = 3.94 months) at 100 a month
    assert lines[0]["cost"] == pytest.approx(394.25, abs=0.01)
    table = cli.invoke(app, ["reports", "roi"])
    assert table.exit_code == 0 and "programme" in table.output


def test_journey_line_counts_each_account_once_and_costs_its_emails(engine, settings):
    """Two contacts of one account entering twice count once; cost = emails sent × setting."""
    from tenure.messaging.journeys_store import get_journey, load_default_journeys
    from tenure.messaging.models import JourneyEnrollment

    from ..factories import add_contact

    settings = settings.model_copy(update={"roi_email_cost": 0.5})
    entered = datetime.combine(DAY - timedelta(days=100), datetime.min.time(), tzinfo=UTC)
    with session_scope(engine) as session:
        load_default_journeys(session)
        journey = get_journey(session, "onboarding")
        for arm, n, kept in (("treated", 20, 18), ("holdout", 10, 6)):
            for i, stays in enumerate(np.arange(n) < kept):
                account = add_account(session, f"j-{arm}-{i}")
                add_subscription(session, account,
                                 ended_at=None if stays else entered + timedelta(days=20))  # fmt: skip
                for k in range(2):
                    contact = add_contact(session, account)
                    session.add(JourneyEnrollment(
                        journey_id=journey.id, contact_id=contact.id, account_id=account.id,
                        arm=arm, status="completed", entered_at=entered + timedelta(days=k),
                    ))  # fmt: skip
        session.flush()
        lines = {line.name: line for line in roi_lines(session, settings, DAY)}
    line = lines["journey:onboarding"]
    assert (line.treated, line.holdout) == (20, 10)
    assert line.cost == 0.0  # no email was sent
    # kept shares 18/20 = 0.9 vs 6/10 = 0.6 on 20 × 100.00 MRR: 0.3 × 2000 = 600 a month
    assert line.status == MEASURED and line.mrr_kept == pytest.approx(600.0)
    lifetime = 1 / (-math.log(0.6) / (90 / 30.4375))
    assert line.lifetime_months == pytest.approx(lifetime)
