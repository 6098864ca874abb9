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
        example = missing[0]
        raise InputError(
            f"no exchange rate for {', '.join(missing)} (known: {', '.join(sorted(rates))}); add"
            f" `{example} = 1.10` to the fx_rates table of tenure.toml (the value of one"
            f" {example} in the base of the others, US dollars by default) or set"
            f""" TENURE_FX_RATES='{{"{example}": 1.10}}'"""
        )
    factors = {}
    for code in wanted:
        scale = Decimal(10) ** (minor_exponent(reporting) - minor_exponent(code))
        factors[code] = float(rates[code] / rates[reporting] * scale)
    return factors


def settings_rates(rates: Mapping[str, float]) -> dict[str, Decimal]:
    """Return a rates table from settings' floats, as exact decimals of their shortest text."""
    return {code.upper(): Decimal(str(rate)) for code, rate in rates.items()}


def to_major_units(minor: int, currency: str) -> float:
    """Return integer minor units as a float of major units, exact to the minor unit."""
    digits = minor_exponent(currency)
    return round(minor / 10**digits, digits)
