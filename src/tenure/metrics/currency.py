"""Convert subscription MRR to the reporting currency with a fixed rates table.

Rates are a fixed table (not a daily feed) so that a month's figures never move when markets do:
`FX_RATES` gives the value of one major unit of each currency in US dollars. A `[fx]` section in
settings and a `--fx FILE` option are planned; until then callers may pass their own mapping.
Each subscription row is converted once and rounded half up to the reporting currency's minor
unit, so
every later sum and difference is in integers and movements reconcile exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

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
        raise InputError(
            f"no exchange rate for {', '.join(missing)}; known: {', '.join(sorted(rates))}"
        )
    factors = {}
    for code in wanted:
        scale = Decimal(10) ** (minor_exponent(reporting) - minor_exponent(code))
        factors[code] = float(rates[code] / rates[reporting] * scale)
    return factors


def to_major_units(minor: int, currency: str) -> float:
    """Return integer minor units as a float of major units, exact to the minor unit."""
    digits = minor_exponent(currency)
    return round(minor / 10**digits, digits)
