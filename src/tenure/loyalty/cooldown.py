"""Cool-down earning as array work: "earn, then wait N days" over many (account, rule) chains.

The events of rules with a cool-down arrive sorted by (account, rule, time). Each event's
successor is the first event of the same (account, rule) at least N days later (one vectorised
binary search); when a monthly cap is full, the successor is instead the first event at or
after both that moment and the next month's start. The earnings are then the chains that start
at each pair's first eligible event: one array step per earning of the longest chain, each
step over the still-running chains only (never a Python loop over events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

US_PER_DAY = 86_400_000_000
NO_CAP = np.iinfo(np.int64).max


@dataclass(frozen=True)
class CoolEvents:
    """Events of cool-down rules, sorted by (group, ts); group numbers (account, rule) pairs."""

    group: np.ndarray  # int64, non-decreasing
    ts: np.ndarray  # int64 microseconds, non-decreasing within a group
    month: np.ndarray  # int64 month number (year * 12 + month - 1), UTC
    cooldown_us: np.ndarray  # int64 per event (its rule's cool-down)
    next_month_us: np.ndarray  # int64 start of the month after the event's month


def first_at_or_after(events: CoolEvents, group: np.ndarray, due: np.ndarray) -> np.ndarray:
    """Return, per (group, due), the index of the group's first event at or after due, or -1.

    (group, time) packs into one monotone int64 key (group × span + time offset, a due past the
    window clipped to the span's end) for one binary search; when that could overflow, times
    become ranks among the distinct event times first (a due ranks as the first time ≥ it).
    """
    if len(events.ts) == 0:
        return np.full(len(group), -1, dtype=np.int64)
    low = int(events.ts.min())
    span = int(events.ts.max()) - low + 2
    if (int(events.group.max()) + 1) * span < 2**62:
        key = events.group * span + (events.ts - low)
        wanted = group * span + np.clip(due - low, 0, span - 1)
    else:
        times = np.sort(events.ts)
        times = times[np.concatenate(([True], times[1:] != times[:-1]))]
        span = len(times) + 1
        key = events.group * span + np.searchsorted(times, events.ts)
        wanted = group * span + np.searchsorted(times, due)
    found = np.searchsorted(key, wanted)
    same = np.zeros(len(found), dtype=bool)
    inside = found < len(key)
    same[inside] = events.group[found[inside]] == group[inside]
    return np.where(same, found, -1)


def walk_chains(
    events: CoolEvents,
    starts: np.ndarray,
    prior_total: np.ndarray,
    prior_month: np.ndarray,
    cap_total: np.ndarray,
    cap_month: np.ndarray,
) -> np.ndarray:
    """Return the indices of the events that earn, following each chain from its start.

    `starts` are the first eligible events of the chains; `prior_*` what each chain's pair
    already earned (in total, and in its start's month); caps per event (NO_CAP when none).
    """
    if len(starts) == 0:
        return np.empty(0, dtype=np.int64)
    after_cooldown = first_at_or_after(events, events.group, events.ts + events.cooldown_us)
    next_month_due = np.maximum(events.ts + events.cooldown_us, events.next_month_us)
    after_month = first_at_or_after(events, events.group, next_month_due)
    earned = [starts]
    current, total, in_month = starts, prior_total + 1, prior_month + 1
    while len(current):
        full = in_month >= cap_month[current]
        nxt = np.where(full, after_month[current], after_cooldown[current])
        alive = (nxt >= 0) & (total < cap_total[current])
        previous, current = current[alive], nxt[alive]
        same_month = events.month[current] == events.month[previous]
        total = total[alive] + 1
        in_month = np.where(same_month, in_month[alive] + 1, 1)
        earned.append(current)
    return np.sort(np.concatenate(earned))
