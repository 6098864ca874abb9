"""What Tenure can see of a simulated account on a decision day: usage, tickets, payments, plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tenure.simulate.billing import FAILED
from tenure.simulate.config import MS_PER_DAY
from tenure.simulate.events import DayEvents, EventWriter
from tenure.simulate.support import PRIORITIES, TICKET_CATEGORIES

if TYPE_CHECKING:
    from tenure.simulate.engine import World

FAST_DAYS, SLOW_DAYS, WINDOW_DAYS = 7, 30, 30
USAGE_DROP_RATIO = 0.7
URGENT = PRIORITIES.index("urgent")
CANCELLATION = TICKET_CATEGORIES.index("cancellation")
FEATURES = (
    "plan", "size_band", "annual", "industry", "seats", "mrr", "tenure_days",
    "usage_7d", "usage_30d", "usage_ratio", "tickets_30d", "urgent_tickets_30d",
    "cancellation_tickets_30d", "failed_payments_30d", "churn_score",
)  # fmt: skip


class UsageCounter:
    """Pass events on to the writer and keep per-account usage averages (7- and 30-day EMAs)."""

    def __init__(self, writer: EventWriter, n: int) -> None:
        self.writer = writer
        self.fast = np.zeros(n)
        self.slow = np.zeros(n)

    @property
    def rows(self) -> int:
        """Return the rows the writer has written."""
        return self.writer.rows

    def add(self, events: DayEvents) -> None:
        """Write the day's events and fold their counts into the averages."""
        self.writer.add(events)
        counts = np.bincount(events.account, minlength=len(self.fast))
        self.fast += (counts - self.fast) / FAST_DAYS
        self.slow += (counts - self.slow) / SLOW_DAYS

    def close(self) -> None:
        """Finish the writer."""
        self.writer.close()


def _recent_counts(values: np.ndarray, at_ms: np.ndarray, window: tuple[int, int], n: int):
    """Count rows per account with since ≤ at < until (nothing from the decision day on)."""
    keep = (at_ms >= window[0]) & (at_ms < window[1])
    return np.bincount(values[keep], minlength=n)


def observe(
    world: World, usage: UsageCounter, accounts: np.ndarray, day: int, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (features, reasons) of accounts on a day: FEATURES columns, REASONS flags."""
    pop, billing, support, n = world.pop, world.sinks.billing, world.sinks.support, len(world.pop)
    day_ms = world.config.start_ms + day * MS_PER_DAY
    since = (day_ms - WINDOW_DAYS * MS_PER_DAY, day_ms)
    t, inv = support.tickets, billing.invoices
    opened, who = t.column("opened_ms"), t.column("account")
    tickets = _recent_counts(who, opened, since, n)[accounts]
    urgent = _recent_counts(who[t.column("priority") == URGENT],
                            opened[t.column("priority") == URGENT], since, n)[accounts]  # fmt: skip
    cancel = t.column("category") == CANCELLATION
    cancels = _recent_counts(who[cancel], opened[cancel], since, n)[accounts]
    failed = inv.column("status") == FAILED
    failures = _recent_counts(inv.column("account")[failed], inv.column("issued_ms")[failed],
                              since, n)[accounts]  # fmt: skip
    seats = billing.seats[accounts]
    fast, slow = usage.fast[accounts], usage.slow[accounts]
    ratio = fast / np.maximum(slow, 1e-3)
    mrr = billing.subscriptions.get("mrr", billing.open_row[accounts]).astype(float)
    features = np.column_stack([
        pop.plan[accounts], pop.band[accounts], pop.billing[accounts], pop.industry[accounts],
        seats, mrr, (day_ms - pop.created_ms[accounts]) / MS_PER_DAY,
        fast / seats, slow / seats, ratio, tickets, urgent, cancels, failures, score,
    ]).astype(float)  # fmt: skip
    reasons = np.column_stack([failures > 0, urgent > 0, ratio < USAGE_DROP_RATIO])
    return features, reasons


CHURN_LEVELS = (0.1, 0.2, 0.3)  # churn-score bands: a proxy of the engagement state
N_PLANS = 4


def effect_modifiers(features: np.ndarray) -> np.ndarray:
    """Return what may change a play's effect: plan, at-risk reasons, engagement proxies.

    Columns: plan one-hot, the REASONS flags (as `observe` derives them), churn-score band
    one-hot, usage ratio (clipped), log usage per seat (7 and 30 days), any ticket, annual.
    """
    column = {name: features[:, i] for i, name in enumerate(FEATURES)}
    ratio = np.clip(column["usage_ratio"], 0.0, 3.0)
    band = np.digitize(column["churn_score"], CHURN_LEVELS)
    return np.column_stack([
        column["plan"][:, None] == np.arange(N_PLANS),
        column["failed_payments_30d"] > 0, column["urgent_tickets_30d"] > 0,
        ratio < USAGE_DROP_RATIO,
        band[:, None] == np.arange(len(CHURN_LEVELS) + 1),
        ratio, np.log1p(column["usage_7d"]), np.log1p(column["usage_30d"]),
        column["tickets_30d"] > 0, column["annual"],
    ]).astype(float)  # fmt: skip
