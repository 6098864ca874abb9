"""Cool-down earning as array work: "earn, then wait N days" over many (account, rule) chains.

The events of rules with a cool-down are sorted by (account, rule, time, message id) with one
packed argsort (`chain_order`). An earning's successor is the first event of the same
(account, rule) at least N days later; when a monthly cap is full, the first event at or after
both that moment and the next month's start. The earnings are the chains that start at each
pair's first eligible event: one array step per earning of the longest chain, each step one
vectorised binary search over the still-running chains only (never a Python loop over events).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

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


class SuccessorIndex:
    """Binary search over events sorted by (group, ts): each group's first event at or after.

    (group, time) packs into one monotone int64 key (group × span + time offset, a due past the
    window clipped to the span's end) built once; when that could overflow, times become ranks
    among the distinct event times first (a due ranks as the first time ≥ it).
    """

    def __init__(self, events: CoolEvents) -> None:
        self.group = events.group
        self.low = int(events.ts.min()) if len(events.ts) else 0
        self.span = int(events.ts.max()) - self.low + 2 if len(events.ts) else 2
        self.times: np.ndarray | None = None
        if len(events.ts) and (int(events.group.max()) + 1) * self.span >= 2**62:
            times = np.sort(events.ts)
            self.times = times[np.concatenate(([True], times[1:] != times[:-1]))]
            self.span = len(self.times) + 1
        self.key = self._pack(events.group, events.ts, exact=True)

    def _pack(self, group: np.ndarray, ts: np.ndarray, exact: bool = False) -> np.ndarray:
        """Return the search keys of (group, time) pairs."""
        if self.times is not None:
            return group * self.span + np.searchsorted(self.times, ts)
        offset = ts - self.low if exact else np.clip(ts - self.low, 0, self.span - 1)
        return group * self.span + offset

    def find(self, group: np.ndarray, due: np.ndarray) -> np.ndarray:
        """Return, per (group, due), the index of the group's first event at or after due, or -1."""
        if len(self.key) == 0:
            return np.full(len(group), -1, dtype=np.int64)
        found = np.searchsorted(self.key, self._pack(group, due))
        same = np.zeros(len(found), dtype=bool)
        inside = found < len(self.key)
        same[inside] = self.group[found[inside]] == group[inside]
        return np.where(same, found, -1)


def first_at_or_after(events: CoolEvents, group: np.ndarray, due: np.ndarray) -> np.ndarray:
    """Return, per (group, due), the index of the group's first event at or after due, or -1."""
    return SuccessorIndex(events).find(group, due)


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
    Each step searches the successors of the still-running chains only.
    """
    if len(starts) == 0:
        return np.empty(0, dtype=np.int64)
    index = SuccessorIndex(events)
    earned = [starts]
    current, total, in_month = starts, prior_total + 1, prior_month + 1
    while len(current):
        due = events.ts[current] + events.cooldown_us[current]
        full = in_month >= cap_month[current]
        due = np.where(full, np.maximum(due, events.next_month_us[current]), due)
        nxt = index.find(events.group[current], due)
        alive = (nxt >= 0) & (total < cap_total[current])
        previous, current = current[alive], nxt[alive]
        same_month = events.month[current] == events.month[previous]
        total = total[alive] + 1
        in_month = np.where(same_month, in_month[alive] + 1, 1)
        earned.append(current)
    return np.sort(np.concatenate(earned))


def chain_order(pair: np.ndarray, ts: np.ndarray, message_ids: Any) -> np.ndarray:
    """Return the permutation sorting events by (pair, ts, message id).

    The ints sort in one packed argsort when (pair, time offset) fits an int64 (lexsort
    otherwise); only runs of equal (pair, ts), rare, are then ordered by message id.
    """
    if len(ts) == 0:
        return np.empty(0, dtype=np.int64)
    low, span = int(ts.min()), int(ts.max()) - int(ts.min()) + 1
    if (int(pair.max()) + 1) * span < 2**62:
        order = np.argsort(pair * span + (ts - low))
    else:
        order = np.lexsort((ts, pair))
    same = (pair[order][1:] == pair[order][:-1]) & (ts[order][1:] == ts[order][:-1])
    if same.any():
        in_run = np.zeros(len(order), dtype=bool)
        in_run[1:] |= same
        in_run[:-1] |= same
        slots = np.flatnonzero(in_run)
        rows = order[slots]
        tied = pa.table({"pair": pair[rows], "ts": ts[rows], "message_id": message_ids.take(rows),
                         "row": rows})  # fmt: skip
        tied = tied.sort_by(
            [("pair", "ascending"), ("ts", "ascending"), ("message_id", "ascending")]
        )
        order[slots] = tied["row"].to_numpy()
    return order
