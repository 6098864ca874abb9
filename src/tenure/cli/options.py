"""Parsing of option values shared by several commands."""

from __future__ import annotations

from datetime import date, timedelta

from tenure import clock
from tenure.errors import InputError


def parse_date(value: str | None, option: str) -> date | None:
    """Return the date in a YYYY-MM-DD option value, or None when not given."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{option} {value!r} is not a date; use YYYY-MM-DD") from exc


def days_between(first: date, last: date) -> list[date]:
    """Return every day from first to last inclusive; raise InputError if the range is empty."""
    if last < first:
        raise InputError(f"--to {last} is before --from {first}")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def parse_days(
    as_of: str | None, first: str | None, last: str | None, *, max_days: int | None = None
) -> list[date]:
    """Return the days of --as-of, or of --from … --to, or today; refuse mixed or bad ranges."""
    if as_of and (first or last):
        raise InputError("give either --as-of or --from/--to, not both")
    if bool(first) != bool(last):
        raise InputError("--from and --to go together")
    if first and last:
        days = days_between(parse_date(first, "--from"), parse_date(last, "--to"))
        if max_days is not None and len(days) > max_days:
            raise InputError(f"--from … --to spans {len(days)} days; at most {max_days}")
        return days
    return [parse_date(as_of, "--as-of") if as_of else clock.now().date()]
