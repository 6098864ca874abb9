"""When a journey email may go: local time windows, quiet hours and the frequency cap (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None, default: str) -> ZoneInfo:
    """Return the contact's time zone, the default one when unset or unknown."""
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def parse_window(text: str) -> tuple[time, time]:
    """Return (start, end) of an `HH:MM-HH:MM` window (end before start wraps midnight)."""
    start, end = text.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def _inside(local: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def next_in_window(at: datetime, tz: ZoneInfo, window: str) -> datetime:
    """Return the first instant at or after `at` whose local time falls in the window."""
    start, end = parse_window(window)
    local = at.astimezone(tz)
    if _inside(local.time(), start, end):
        return at
    candidate = datetime.combine(local.date(), start, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), start, tzinfo=tz)
    return candidate.astimezone(UTC)


def after_quiet_hours(at: datetime, tz: ZoneInfo, quiet: str | None) -> datetime:
    """Return `at`, or the end of the quiet hours it falls in (local time of the contact)."""
    if not quiet:
        return at
    start, end = parse_window(quiet)
    local = at.astimezone(tz)
    if not _inside(local.time(), start, end):
        return at
    ends = datetime.combine(local.date(), end, tzinfo=tz)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return ends.astimezone(UTC)


def after_frequency_cap(
    at: datetime, sent: Sequence[datetime], cap: int, window: timedelta
) -> datetime:
    """Return the first instant at or after `at` when fewer than `cap` sends lie in the window."""
    recent = sorted(t for t in sent if at - window < t <= at)
    if len(recent) < cap:
        return at
    return recent[len(recent) - cap] + window


def next_send_slot(
    at: datetime,
    tz: ZoneInfo,
    quiet: str | None,
    sent: Sequence[datetime],
    cap: int,
    window: timedelta,
) -> datetime:
    """Return the first instant at or after `at` allowed by both quiet hours and the cap."""
    slot = at
    for _ in range(8):  # each rule only moves the slot later; a few rounds settle it
        moved = after_quiet_hours(after_frequency_cap(slot, sent, cap, window), tz, quiet)
        if moved == slot:
            return slot
        slot = moved
    return slot
