"""Customer summaries for the BTYD models: (frequency, recency, T[, monetary_value]) per customer.

`frequency` is the number of repeat purchase days (purchases on one day count once), `recency`
the time from the first to the last purchase, `T` the time from the first purchase to the end of
the calibration period, and `monetary_value` the mean spend of the repeat purchase days, all as
in the BTYD literature. Times are in the summary's unit: days or weeks (7 days).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

UNIT_DAYS = {"days": 1.0, "weeks": 7.0}


@dataclass(frozen=True)
class Summary:
    """One row per customer, times in `unit`; `ids` and `monetary_value` optional."""

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray | None = None
    ids: list[str] | None = None
    unit: str = "weeks"
    id_column: str | None = field(default=None)

    @property
    def customers(self) -> int:
        """Return the number of customers."""
        return len(self.frequency)

    def grouped(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the distinct (x, t_x, T) rows and how many customers share each."""
        x, t_x, big_t = self.frequency, self.recency, self.T
        order = np.lexsort((big_t, t_x, x))
        x, t_x, big_t = x[order], t_x[order], big_t[order]
        new = np.ones(len(x), bool)
        new[1:] = (np.diff(x) != 0) | (np.diff(t_x) != 0) | (np.diff(big_t) != 0)
        starts = np.flatnonzero(new)
        counts = np.diff(np.append(starts, len(x))).astype(float)
        return x[starts], t_x[starts], big_t[starts], counts


def validate(summary: Summary) -> str | None:
    """Return why the summary cannot be fitted, or None; rows are 0-based here."""
    x, t_x, big_t = summary.frequency, summary.recency, summary.T
    checks = (
        (x < 0) | (np.floor(x) != x),
        "frequency must be a whole number ≥ 0",
        (t_x < 0) | (t_x > big_t + 1e-9),
        "recency must lie between 0 and T",
        (x == 0) & (t_x != 0),
        "recency must be 0 when frequency is 0",
        big_t <= 0,
        "T must be > 0",
    )
    for bad, reason in zip(checks[::2], checks[1::2], strict=True):
        if bad.any():
            return f"row {int(np.argmax(bad))}: {reason}"
    return None
