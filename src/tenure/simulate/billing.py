"""Subscriptions (the MRR history) and invoices (payment attempts), driven by the state."""

from __future__ import annotations

import numpy as np

import tenure.simulate.catalog as cat
from tenure.simulate.buffers import ColumnBuffer
from tenure.simulate.config import MS_PER_DAY
from tenure.simulate.population import Population

INVOICE_STATUSES = ("paid", "failed", "refunded", "open")
PAID, FAILED, REFUNDED, OPEN = range(4)
# Daily probabilities by chain state (champion … payment_trouble).
PAYMENT_FAIL_P = np.array([0.01, 0.01, 0.015, 0.025, 0.04, 0.8])
EXPANSION_P = np.array([0.004, 0.0015, 0.0005, 0.0002, 0.0, 0.0])
CONTRACTION_P = np.array([0.0001, 0.0003, 0.0008, 0.003, 0.004, 0.001])
MAX_RETRIES = 3
REFUND_P = 0.25
REFUND_WINDOW_MS = 20 * MS_PER_DAY
HOUR_MS = 3_600_000
SUBSCRIPTION_COLUMNS = {
    "account": "i4",
    "seats": "i4",
    "mrr": "i8",
    "started_ms": "i8",
    "ended_ms": "i8",
}
INVOICE_COLUMNS = {
    "account": "i4",
    "subscription": "i8",
    "amount": "i8",
    "status": "i1",
    "issued_ms": "i8",
    "paid_ms": "i8",
}


class Billing:
    """Open, change and close subscription rows; issue invoices and retry failed payments."""

    def __init__(self, pop: Population, end_ms: int) -> None:
        n = len(pop)
        self.pop, self.end_ms = pop, end_ms
        self.subscriptions = ColumnBuffer(SUBSCRIPTION_COLUMNS, capacity=max(1024, 2 * n))
        self.invoices = ColumnBuffer(INVOICE_COLUMNS, capacity=max(1024, 14 * n))
        self.open_row = np.full(n, -1, dtype=np.int64)
        self.seats = pop.seats.astype(np.int32).copy()
        days = pop.created_ms // MS_PER_DAY
        self.anchor_dom, self.anchor_month = day_of_month(days), month_of_year(days)
        self.retry_day = np.full(n, -1, dtype=np.int64)
        self.retries = np.zeros(n, dtype=np.int8)
        self.last_invoice = np.full(n, -1, dtype=np.int64)

    def mrr(self, accounts: np.ndarray, seats: np.ndarray) -> np.ndarray:
        """Return monthly-normalised MRR in minor units (annual plans get a discount)."""
        pop = self.pop
        price = cat.SEAT_PRICE_MINOR[pop.currency[accounts], pop.plan[accounts]]
        discount = np.where(pop.billing[accounts] == 1, cat.ANNUAL_DISCOUNT, 1.0)
        return np.round(seats * price * discount).astype(np.int64)

    def open(self, accounts: np.ndarray, at_ms: np.ndarray) -> None:
        """Open a new subscription row for each account at the given times."""
        if len(accounts) == 0:
            return
        seats = self.seats[accounts]
        rows = self.subscriptions.append(
            account=accounts,
            seats=seats,
            mrr=self.mrr(accounts, seats),
            started_ms=at_ms,
            ended_ms=-1,
        )
        self.open_row[accounts] = rows

    def close(self, accounts: np.ndarray, at_ms: np.ndarray) -> None:
        """End each account's open subscription row at the given times."""
        if len(accounts) == 0:
            return
        self.subscriptions.set("ended_ms", self.open_row[accounts], at_ms)
        self.open_row[accounts] = -1

    def reanchor(self, accounts: np.ndarray, day_index: np.ndarray) -> None:
        """Move the billing anchor of reactivated accounts to their restart day."""
        self.anchor_dom[accounts] = day_of_month(day_index)
        self.anchor_month[accounts] = month_of_year(day_index)

    def change_seats(
        self, rng: np.random.Generator, accounts: np.ndarray, states: np.ndarray, day_ms: int
    ) -> None:
        """Expand healthy accounts and contract declining ones (close row, open a new one)."""
        u = rng.random(len(accounts))
        grow = u < EXPANSION_P[states]
        shrink = ~grow & (u < EXPANSION_P[states] + CONTRACTION_P[states])
        moving = accounts[grow | shrink]
        if len(moving) == 0:
            return
        seats = self.seats[moving]
        step = np.maximum(1, np.round(seats * rng.uniform(0.05, 0.3, len(moving)))).astype(np.int32)
        sign = np.where(grow[grow | shrink], 1, -1)
        new_seats = np.maximum(1, seats + sign * step)
        changed = moving[new_seats != seats]
        at_ms = day_ms + rng.integers(9 * HOUR_MS, 18 * HOUR_MS, size=len(changed))
        self.close(changed, at_ms)
        self.seats[changed] = new_seats[new_seats != seats]
        self.open(changed, at_ms)

    def invoice(
        self,
        rng: np.random.Generator,
        accounts: np.ndarray,
        states: np.ndarray,
        at_ms: np.ndarray,
        day: int,
    ) -> None:
        """Issue one payment attempt per account; failures schedule a retry a few days later."""
        if len(accounts) == 0:
            return
        rows = self.open_row[accounts]
        annual = self.pop.billing[accounts] == 1
        amount = self.subscriptions.get("mrr", rows) * np.where(annual, 12, 1)
        failed = rng.random(len(accounts)) < PAYMENT_FAIL_P[states]
        delay = np.where(
            annual,
            rng.integers(MS_PER_DAY, 25 * MS_PER_DAY, len(accounts)),
            rng.integers(5_000, 600_000, len(accounts)),
        )
        paid_ms = np.where(failed, -1, at_ms + delay)
        late = ~failed & (paid_ms >= self.end_ms)
        status = np.select([failed, late], [FAILED, OPEN], PAID).astype(np.int8)
        self.last_invoice[accounts] = self.invoices.append(
            account=accounts,
            subscription=rows,
            amount=amount,
            status=status,
            issued_ms=at_ms,
            paid_ms=np.where(late, -1, paid_ms),
        )
        self.schedule_retries(rng, accounts, failed, day)

    def schedule_retries(
        self, rng: np.random.Generator, accounts: np.ndarray, failed: np.ndarray, day: int
    ) -> None:
        """Retry failed payments after 3–5 days, at most MAX_RETRIES times in a row."""
        again = failed & (self.retries[accounts] < MAX_RETRIES)
        self.retry_day[accounts] = np.where(again, day + rng.integers(3, 6, len(accounts)), -1)
        self.retries[accounts] = np.where(failed, self.retries[accounts] + 1, 0)
        self.retries[accounts[failed & ~again]] = 0

    def due(self, accounts: np.ndarray, day: int, dom: int, month: int) -> np.ndarray:
        """Return the mask of accounts with a regular invoice or a retry due today.

        ``dom`` is the calendar day-of-month (1–31); anchors are capped at 28, so an account
        that signed up on the 31st is billed on the 28th.
        """
        regular = self.anchor_dom[accounts] == dom
        annual = self.pop.billing[accounts] == 1
        regular &= ~annual | (self.anchor_month[accounts] == month)
        return regular | (self.retry_day[accounts] == day)

    def churn(self, rng: np.random.Generator, accounts: np.ndarray, at_ms: np.ndarray) -> None:
        """Cancel subscriptions, drop pending retries and refund some recent payments."""
        self.close(accounts, at_ms)
        self.retry_day[accounts], self.retries[accounts] = -1, 0
        last = self.last_invoice[accounts]
        has = last >= 0
        rows, when = last[has], at_ms[has]
        recent = (self.invoices.get("status", rows) == PAID) & (
            when - self.invoices.get("issued_ms", rows) < REFUND_WINDOW_MS
        )
        refund = rows[recent & (rng.random(len(rows)) < REFUND_P)]
        self.invoices.set("status", refund, REFUNDED)


def day_of_month(epoch_days: np.ndarray) -> np.ndarray:
    """Return the billing day-of-month (1–28) of epoch day numbers."""
    days = np.asarray(epoch_days).astype("datetime64[D]")
    dom = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    return np.minimum(dom, 28).astype(np.int8)


def month_of_year(epoch_days: np.ndarray) -> np.ndarray:
    """Return the month (1–12) of epoch day numbers."""
    months = np.asarray(epoch_days).astype("datetime64[D]").astype("datetime64[M]")
    return (months.astype(np.int64) % 12 + 1).astype(np.int8)
