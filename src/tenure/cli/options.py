"""Parsing of option values shared by several commands."""

from __future__ import annotations

from datetime import date

from tenure.errors import InputError


def parse_date(value: str | None, option: str) -> date | None:
    """Return the date in a YYYY-MM-DD option value, or None when not given."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{option} {value!r} is not a date; use YYYY-MM-DD") from exc
