"""The book's monthly history as arrays: the MRR bridge and customer counts per month."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

SERIES = ("mrr", "customers", "logo_churn")


@dataclass(frozen=True)
class History:
    """One entry per complete month, oldest first; money in reporting-currency major units."""

    months: list[str]
    mrr_start: np.ndarray
    mrr_end: np.ndarray
    new: np.ndarray
    expansion: np.ndarray
    contraction: np.ndarray
    churn: np.ndarray
    reactivation: np.ndarray
    customers_start: np.ndarray
    customers_end: np.ndarray
    new_customers: np.ndarray
    reactivated_customers: np.ndarray
    churned_customers: np.ndarray

    def __len__(self) -> int:
        """Return the number of months."""
        return len(self.months)

    def head(self, n: int) -> History:
        """Return the first n months (a training window of the backtest)."""
        values = {f.name: getattr(self, f.name)[:n] for f in fields(self)}
        return History(**values)

    def series(self, name: str) -> np.ndarray:
        """Return a forecast series: month-end MRR, month-end customers or churned customers."""
        return {
            "mrr": self.mrr_end,
            "customers": self.customers_end,
            "logo_churn": self.churned_customers,
        }[name]


def history_from_rows(months: list[str], rows: list[dict[str, float]]) -> History:
    """Build a History from per-month dicts carrying the MonthMovements field names."""
    names = [f.name for f in fields(History) if f.name != "months"]
    return History(months, **{n: np.array([r[n] for r in rows], float) for n in names})
