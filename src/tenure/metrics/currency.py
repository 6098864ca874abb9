"""Convert subscription MRR to the reporting currency with a fixed rates table.

Rates are a fixed table (not a daily feed) so that a month's figures never move when markets do:
`FX_RATES` gives the value of one major unit of each currency in US dollars. Settings override
and extend it (`[fx_rates]` in tenure.toml, or `TENURE_FX_RATES='{"EUR": 1.08}'`); the CLI passes
`settings_rates(settings.fx_rates)`. Any common base works, since a conversion divides by the
reporting currency's own rate.
Each subscription row is converted once and rounded half up to the reporting currency's minor
unit, so
every later sum and difference is in integers and movements reconcile exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from tenure.errors import InputError
from tenure.money import minor_exponent

# USD per one major unit: fixed, illustrative early-2025 levels; override by passing `rates`.
FX_RATES: Mapping[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.0350"),
    "GBP": Decimal("1.2470"),
}


def minor_unit_factors(
    currencies: Iterable[str], reporting: str, rates: Mapping[str, Decimal] = FX_RATES
) -> dict[str, float]:
    """Return, per currency, what one minor unit is worth in reporting-currency minor units."""
    reporting = reporting.upper()
    wanted = {c.upper() for c in currencies} | {reporting}
    missing = sorted(c for c in wanted if c not in rates)
    if missing:
        raise InputError(missing_rate_text(missing, rates))
    factors = {}
    for code in wanted:
        scale = Decimal(10) ** (minor_exponent(reporting) - minor_exponent(code))
        factors[code] = float(rates[code] / rates[reporting] * scale)
    return factors


def missing_rate_text(missing: Iterable[str], rates: Mapping[str, Decimal]) -> str:
    """Return what is missing and how to add it: `no exchange rate for CHF (known: …); add …`."""
    missing = sorted(missing)
    example = missing[0]
    return (
        f"no exchange rate for {', '.join(missing)} (known: {', '.join(sorted(rates))}); add"
        f" `{example} = 1.10` to the fx_rates table of tenure.toml (the value of one"
        f" {example} in the base of the others, US dollars by default) or set"
        f""" TENURE_FX_RATES='{{"{example}": 1.10}}'"""
    )


def settings_rates(rates: Mapping[str, float]) -> dict[str, Decimal]:
    """Return a rates table from settings' floats, as exact decimals of their shortest text."""
    return {code.upper(): Decimal(str(rate)) for code, rate in rates.items()}


def to_major_units(minor: int, currency: str) -> float:
    """Return integer minor units as a float of major units, exact to the minor unit."""
    digits = minor_exponent(currency)
    return round(minor / 10**digits, digits)


def rated_rows(rows: pa.Table, rates: Mapping[str, Decimal]) -> pa.Table:
    """Return the rows whose currency has an exchange rate (or none); the rest cannot be summed.

    The data-quality report lists the rows left out (`tenure dq report`, subscription validity
    "currency has an exchange rate"), so one odd row never stops every metric.
    """
    codes = pc.utf8_upper(rows["currency"])
    known = pc.is_in(codes, value_set=pa.array(sorted(rates), pa.string()))
    keep = pc.or_(pc.is_null(codes), pc.equal(pc.utf8_length(codes), 0))
    return rows.filter(pc.or_kleene(keep, known))


def unrated_currencies(rows: pa.Table, rates: Mapping[str, Decimal]) -> dict[str, int]:
    """Return how many rows each currency without an exchange rate has."""
    codes = [c.upper() for c in rows["currency"].to_pylist() if c]
    counts: dict[str, int] = {}
    for code in codes:
        if code not in rates:
            counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items()))
