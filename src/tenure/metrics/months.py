"""Calendar months as integer indices (`year * 12 + month − 1`) and their YYYY-MM text."""

from __future__ import annotations

import re
from datetime import date

from tenure import clock
from tenure.errors import InputError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str, *, option: str = "--month") -> int:
    """Return the index of a YYYY-MM month, or raise InputError naming the option."""
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise InputError(f"{option} must be a month written YYYY-MM (e.g. 2025-03), got {text!r}")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def month_of(day: date) -> int:
    """Return the index of the month a day (or datetime) falls in."""
    return day.year * 12 + day.month - 1


def month_text(index: int) -> str:
    """Return the YYYY-MM text of a month index."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(first: int, last: int) -> list[int]:
    """Return the month indices from first to last inclusive, or raise if they are reversed."""
    if last < first:
        raise InputError(f"--to {month_text(last)} is before --from {month_text(first)}")
    return list(range(first, last + 1))


def last_complete_month() -> int:
    """Return the index of the last month that has ended, by the clock in force."""
    return month_of(clock.now()) - 1
