"""Hand-computed MRR movements for every movement type and the edge cases of issue 4 §4."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tenure.metrics.months import month_range, parse_month
from tenure.metrics.movements import (
    MonthMovements,
    month_summary,
    monthly_movements,
    subscriptions_table,
)

JAN, FEB, MAR, APR, MAY, JUN = (parse_month(f"2025-0{m}") for m in range(1, 7))
HALF_YEAR = month_range(JAN, JUN)


def at(month: int, day: int, hour: int = 12) -> datetime:
    """Return 2025-month-day at hour UTC (month 12 of 2024 as month 0)."""
    if month == 0:
        return datetime(2024, 12, day, hour, tzinfo=UTC)
    return datetime(2025, month, day, hour, tzinfo=UTC)


def sub(account, mrr, start, end=None, currency="USD"):
    """Return one subscription record."""
    return {"account_id": account, "mrr": mrr, "currency": currency, "started_at": start,
            "ended_at": end}  # fmt: skip


def bridge(records, months=HALF_YEAR, currency="USD"):
    """Return {month index: MonthMovements} for the records."""
    series = monthly_movements(subscriptions_table(records), months, currency=currency)
    assert all(m.reconciles() for m in series)
    return {m.month: m for m in series}


def only(month, **fields):
    """Return a MonthMovements with the given fields (others zero)."""
    return MonthMovements(month=month, **fields)


def test_new_business():
    got = bridge([sub(1, 10_000, at(2, 10))])
    assert got[JAN] == only(JAN)
    assert got[FEB] == only(FEB, mrr_end=10_000, new=10_000, customers_end=1, new_customers=1)
    assert got[MAR] == only(MAR, mrr_start=10_000, mrr_end=10_000, customers_start=1,
                            customers_end=1)  # fmt: skip


def test_expansion_and_contraction():
    got = bridge([
        sub(1, 10_000, at(0, 5), at(2, 15)), sub(1, 15_000, at(2, 15)),
        sub(2, 10_000, at(0, 5), at(3, 7)), sub(2, 6_000, at(3, 7)),
    ])  # fmt: skip
    assert got[FEB].expansion == 5_000 and got[FEB].contraction == 0
    assert got[MAR].contraction == 4_000 and got[MAR].expansion == 0
    assert got[MAR].mrr_start == 25_000 and got[MAR].mrr_end == 21_000
    assert got[MAR].customers_start == got[MAR].customers_end == 2


def test_churn_then_reactivation():
    got = bridge([sub(1, 10_000, at(0, 5), at(3, 20)), sub(1, 8_000, at(5, 3))])
    assert got[MAR] == only(MAR, mrr_start=10_000, churn=10_000, customers_start=1,
                            churned_customers=1)  # fmt: skip
    assert got[APR] == only(APR)
    assert got[MAY] == only(MAY, mrr_end=8_000, reactivation=8_000, customers_end=1,
                            reactivated_customers=1)  # fmt: skip


def test_churn_and_return_within_one_month_is_no_movement():
    got = bridge([sub(1, 10_000, at(0, 5), at(3, 10)), sub(1, 10_000, at(3, 20))])
    assert got[MAR] == only(MAR, mrr_start=10_000, mrr_end=10_000, customers_start=1,
                            customers_end=1)  # fmt: skip


def test_upgrade_and_downgrade_in_the_same_month_net_out():
    got = bridge([
        sub(1, 10_000, at(0, 5), at(2, 10)), sub(1, 15_000, at(2, 10), at(2, 20)),
        sub(1, 12_000, at(2, 20)),
        sub(2, 10_000, at(0, 5), at(2, 10)), sub(2, 15_000, at(2, 10), at(2, 20)),
        sub(2, 8_000, at(2, 20)),
    ])  # fmt: skip
    assert (got[FEB].expansion, got[FEB].contraction) == (2_000, 2_000)
    assert got[FEB].mrr_start == got[FEB].mrr_end == 20_000


def test_plan_change_at_midnight_on_the_first_belongs_to_the_new_month():
    midnight = datetime(2025, 3, 1, tzinfo=UTC)
    got = bridge([sub(1, 10_000, at(0, 5), midnight), sub(1, 20_000, midnight)])
    assert got[FEB] == only(FEB, mrr_start=10_000, mrr_end=10_000, customers_start=1,
                            customers_end=1)  # fmt: skip
    assert got[MAR].expansion == 10_000 and got[MAR].mrr_end == 20_000


def test_plan_change_on_the_last_day_belongs_to_that_month():
    last = datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC)
    got = bridge([sub(1, 10_000, at(0, 5), last), sub(1, 4_000, last)])
    assert got[MAR].contraction == 6_000 and got[MAR].mrr_end == 4_000
    assert got[APR] == only(APR, mrr_start=4_000, mrr_end=4_000, customers_start=1,
                            customers_end=1)  # fmt: skip


def test_signup_at_midnight_on_the_first_is_that_months_new_business():
    got = bridge([sub(1, 10_000, datetime(2025, 2, 1, tzinfo=UTC))])
    assert got[JAN] == only(JAN)
    assert got[FEB].new == 10_000


def test_annual_plan_counts_its_monthly_normalised_mrr_every_month():
    # 600.00 a year is 50.00 a month; the row spans the whole half year.
    got = bridge([sub(1, 5_000, datetime(2024, 11, 15, tzinfo=UTC), at(11, 15))])
    for month in HALF_YEAR:
        assert got[month] == only(month, mrr_start=5_000, mrr_end=5_000, customers_start=1,
                                  customers_end=1)  # fmt: skip


def test_zero_mrr_trial_is_not_a_customer_and_conversion_is_new_not_reactivation():
    got = bridge([
        sub(1, 0, at(1, 5), at(2, 3)), sub(1, 9_000, at(2, 3)),
        sub(2, 0, at(1, 5), at(1, 19)), sub(2, 7_000, at(1, 19)),
        sub(3, 0, at(1, 5)),
    ])  # fmt: skip
    assert got[JAN] == only(JAN, mrr_end=7_000, new=7_000, customers_end=1, new_customers=1)
    assert got[FEB].new == 9_000 and got[FEB].reactivation == 0
    assert got[FEB].customers_end == 2


def test_eur_subscription_is_converted_at_the_fixed_rate():
    got = bridge([sub(1, 10_000, at(2, 3), currency="EUR"), sub(2, 333, at(2, 3), currency="GBP")])
    # 100.00 EUR × 1.0350 = 103.50 USD; 3.33 GBP × 1.2470 = 4.15251 → 4.15 USD.
    assert got[FEB].new == 10_350 + 415
    in_eur = bridge([sub(1, 10_000, at(2, 3))], currency="EUR")
    assert in_eur[FEB].new == 9_662  # 100.00 USD ÷ 1.0350 = 96.618… EUR


def test_backdated_cancellation_restates_the_past_month():
    before = [sub(1, 10_000, at(0, 5)), sub(2, 5_000, at(0, 5))]
    assert bridge(before)[MAR].churn == 0
    # Recorded in May: account 1 actually cancelled on 10 March.
    after = [replace_end(before[0], at(3, 10)), before[1]]
    got = bridge(after)
    assert got[MAR].churn == 10_000 and got[MAR].churned_customers == 1
    assert got[APR].mrr_start == 5_000


def replace_end(record, end):
    """Return the record with a new ended_at."""
    return {**record, "ended_at": end}


def test_short_stay_inside_one_month_never_shows_up():
    got = bridge([sub(1, 10_000, at(3, 5), at(3, 25))])
    assert all(m == only(m.month) for m in got.values())


def test_month_summary_of_a_small_book():
    records = [
        sub(1, 10_000, at(0, 5)),  # stays
        sub(2, 10_000, at(0, 5), at(3, 10)),  # churns in March
        sub(3, 10_000, at(0, 5), at(3, 2)), sub(3, 13_000, at(3, 2)),  # expands 3,000
        sub(4, 10_000, at(0, 5), at(3, 2)), sub(4, 9_000, at(3, 2)),  # contracts 1,000
        sub(5, 6_000, at(3, 8)),  # new
    ]  # fmt: skip
    summary = month_summary(subscriptions_table(records), MAR)
    assert summary == {
        "month": "2025-03", "currency": "USD",
        "mrr_start": 400.0, "mrr_end": 380.0, "new": 60.0, "expansion": 30.0,
        "contraction": 10.0, "churn": 100.0, "reactivation": 0.0,
        "customers_start": 4, "customers_end": 4, "new_customers": 1,
        "reactivated_customers": 0, "churned_customers": 1,
        "logo_churn_rate": 0.25, "gross_mrr_churn_rate": pytest.approx(0.275),
        "net_mrr_churn_rate": pytest.approx(0.2), "grr": pytest.approx(0.725),
        "nrr": pytest.approx(0.8), "arpa": 95.0,
        # Logo churn Dec–Mar: undefined, 0, 0, 0.25 → mean 1/12; LTV = 95 × 12.
        "ltv": pytest.approx(1140.0), "quick_ratio": pytest.approx(90 / 110),
    }  # fmt: skip


def test_month_movements_dataclass_reconciles():
    good = only(MAR, mrr_start=100, mrr_end=150, new=50)
    assert good.reconciles()
    assert not replace(good, new=49).reconciles()
