"""Money is integer minor units plus an ISO 4217 currency code."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# Active ISO 4217 codes (list of the ISO 4217 maintenance agency, 2024 edition).
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)

# Currencies whose minor unit is not 1/100 (ISO 4217 exponent column).
_EXPONENT = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}


def is_currency(code: str) -> bool:
    """Tell whether code is an active ISO 4217 currency."""
    return code.upper() in ISO_4217


def minor_exponent(code: str) -> int:
    """Return how many decimal places the currency's minor unit has."""
    return _EXPONENT.get(code.upper(), 2)


def to_minor(amount: Decimal | str | float, code: str) -> int:
    """Convert a major-unit amount to integer minor units, rounding half to even."""
    scale = Decimal(10) ** minor_exponent(code)
    return int((Decimal(str(amount)) * scale).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_major(minor: int, code: str) -> Decimal:
    """Convert integer minor units back to a major-unit Decimal."""
    return Decimal(minor) / (Decimal(10) ** minor_exponent(code))


def exponent_sql_case(column: str) -> str:
    """Return a SQL CASE giving the minor-unit exponent of a currency column."""
    zero = ", ".join(f"'{c}'" for c in sorted(k for k, v in _EXPONENT.items() if v == 0))
    three = ", ".join(f"'{c}'" for c in sorted(k for k, v in _EXPONENT.items() if v == 3))
    return f"(CASE WHEN {column} IN ({zero}) THEN 0 WHEN {column} IN ({three}) THEN 3 ELSE 2 END)"
