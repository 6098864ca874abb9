"""Reference values for the month formulas, computed by hand from ChartMogul's definitions."""

from __future__ import annotations

import pytest

from tenure.errors import InputError
from tenure.metrics import formulas as f
from tenure.metrics.currency import minor_unit_factors, to_major_units
from tenure.metrics.months import month_range, month_text, parse_month

# A month: start 10,000; new 1,000; expansion 500; reactivation 200; contraction 300; churn 700.
START, NEW, EXP, REACT, CONTR, CHURN = 10_000, 1_000, 500, 200, 300, 700
END = 10_700


def test_the_reference_month_reconciles():
    assert f.reconciles(
        START, END, new=NEW, expansion=EXP, contraction=CONTR, churn=CHURN, reactivation=REACT
    )
    assert not f.reconciles(
        START, END + 1, new=NEW, expansion=EXP, contraction=CONTR, churn=CHURN, reactivation=REACT
    )


def test_rates_of_the_reference_month():
    assert f.gross_mrr_churn_rate(CHURN, CONTR, START) == pytest.approx(0.10)
    assert f.net_mrr_churn_rate(CHURN, CONTR, EXP, REACT, START) == pytest.approx(0.03)
    assert f.grr(CHURN, CONTR, START) == pytest.approx(0.90)
    assert f.nrr(CHURN, CONTR, EXP, START) == pytest.approx(0.95)
    assert f.quick_ratio(NEW, EXP, REACT, CHURN, CONTR) == pytest.approx(1.7)
    assert f.logo_churn_rate(5, 100) == pytest.approx(0.05)
    assert f.arpa(END, 107) == pytest.approx(100.0)
    assert f.ltv(100.0, 0.05) == pytest.approx(2000.0)


def test_undefined_rates_are_none():
    assert f.gross_mrr_churn_rate(0, 0, 0) is None
    assert f.nrr(0, 0, 0, 0) is None
    assert f.logo_churn_rate(0, 0) is None
    assert f.arpa(0, 0) is None
    assert f.ltv(100.0, 0.0) is None
    assert f.ltv(None, 0.1) is None
    assert f.quick_ratio(10, 0, 0, 0, 0) is None


def test_trailing_mean_uses_the_last_six_defined_rates():
    rates = [0.9, None, 0.1, 0.2, None, 0.3, 0.0, 0.2]
    assert f.trailing_mean(rates) == pytest.approx((0.1 + 0.2 + 0.3 + 0.0 + 0.2) / 5)
    assert f.trailing_mean([None, None]) is None


@pytest.mark.parametrize(
    ("start", "end", "paid_before", "kind"),
    [
        (0, 100, False, "new"),
        (0, 100, True, "reactivation"),
        (100, 150, True, "expansion"),
        (100, 40, True, "contraction"),
        (100, 0, True, "churn"),
        (100, 100, True, None),
        (0, 0, True, None),
    ],
)
def test_movement_kind(start, end, paid_before, kind):
    assert f.movement_kind(start, end, paid_before=paid_before) == kind


def test_currency_factors_and_major_units():
    factors = minor_unit_factors(["EUR", "GBP"], "USD")
    assert factors == {"USD": 1.0, "EUR": pytest.approx(1.035), "GBP": pytest.approx(1.247)}
    assert minor_unit_factors(["USD"], "EUR")["USD"] == pytest.approx(1 / 1.035)
    assert to_major_units(123456, "USD") == 1234.56
    with pytest.raises(InputError, match="no exchange rate for JPY"):
        minor_unit_factors(["JPY"], "USD")


def test_month_text_round_trips_and_bad_text_is_an_input_error():
    assert month_text(parse_month("2025-03")) == "2025-03"
    assert month_range(parse_month("2024-11"), parse_month("2025-02")) == [
        parse_month(m) for m in ("2024-11", "2024-12", "2025-01", "2025-02")
    ]
    for bad in ("2025-13", "2025-3", "March", "2025-00", ""):
        with pytest.raises(InputError, match="YYYY-MM"):
            parse_month(bad)
    with pytest.raises(InputError, match="before"):
        month_range(parse_month("2025-02"), parse_month("2025-01"))
