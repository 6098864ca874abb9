"""Properties of the MRR bridge: it always reconciles and never reads the future."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure.metrics.months import month_range, parse_month
from tenure.metrics.movements import month_summary, monthly_movements, subscriptions_table

ORIGIN = datetime(2024, 10, 1, tzinfo=UTC)
MONTHS = month_range(parse_month("2024-11"), parse_month("2025-04"))
MARCH = parse_month("2025-03")
APRIL_FIRST = datetime(2025, 4, 1, tzinfo=UTC)

# Offsets in hours from ORIGIN (about 8 months), biased to hit month boundaries exactly.
BOUNDARIES = [
    int((datetime(2024 + (10 + k) // 12, (10 + k) % 12 + 1, 1, tzinfo=UTC) - ORIGIN).total_seconds()
        // 3600)
    for k in range(8)
]  # fmt: skip
hours = st.one_of(st.integers(0, 24 * 240), st.sampled_from(BOUNDARIES))


@st.composite
def subscription(draw, accounts=st.integers(1, 6)):
    """Draw one subscription row somewhere in the eight months from ORIGIN."""
    start = draw(hours)
    length = draw(st.one_of(st.none(), st.integers(0, 24 * 200)))
    return {
        "account_id": draw(accounts),
        "mrr": draw(st.one_of(st.just(0), st.integers(1, 100_000))),
        "currency": draw(st.sampled_from(["USD", "EUR", "GBP"])),
        "started_at": ORIGIN + timedelta(hours=start),
        "ended_at": None if length is None else ORIGIN + timedelta(hours=start + length),
    }


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(subscription(), max_size=25))
def test_movements_always_reconcile_and_chain(records):
    series = monthly_movements(subscriptions_table(records), MONTHS)
    for month in series:
        assert month.reconciles()
        assert min(month.new, month.expansion, month.contraction, month.churn,
                   month.reactivation) >= 0  # fmt: skip
    for before, after in itertools.pairwise(series):
        assert before.mrr_end == after.mrr_start
        assert before.customers_end == after.customers_start


@FAST
@given(
    st.lists(subscription(), max_size=20),
    st.lists(st.tuples(st.integers(1, 8), st.integers(0, 24 * 90), st.integers(0, 100_000)),
             max_size=6),
)  # fmt: skip
def test_rows_starting_after_the_month_leave_its_summary_unchanged(records, later):
    past = month_summary(subscriptions_table(records), MARCH)
    future = [
        {"account_id": account, "mrr": mrr, "currency": "USD",
         "started_at": APRIL_FIRST + timedelta(hours=offset), "ended_at": None}
        for account, offset, mrr in later
    ]  # fmt: skip
    assert month_summary(subscriptions_table(records + future), MARCH) == past
