"""A growable column store for the sparse tables (subscriptions, invoices, tickets, surveys)."""

from __future__ import annotations

import numpy as np


class ColumnBuffer:
    """Numpy columns that grow by doubling and allow in-place updates by row number."""

    def __init__(self, dtypes: dict[str, str], capacity: int = 1024) -> None:
        self._cols = {name: np.empty(capacity, dtype=dt) for name, dt in dtypes.items()}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, **columns: np.ndarray | int | float) -> np.ndarray:
        """Append rows (scalars broadcast) and return their row numbers."""
        n = max((np.size(v) for v in columns.values() if np.ndim(v) > 0), default=1)
        if set(columns) != set(self._cols):
            raise KeyError(f"expected columns {sorted(self._cols)}, got {sorted(columns)}")
        self._reserve(self._size + n)
        rows = np.arange(self._size, self._size + n)
        for name, values in columns.items():
            self._cols[name][rows] = values
        self._size += n
        return rows

    def set(self, name: str, rows: np.ndarray, values: np.ndarray | int | float) -> None:
        """Overwrite one column at the given rows."""
        self._cols[name][rows] = values

    def get(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Return one column at the given rows."""
        return self._cols[name][rows]

    def column(self, name: str) -> np.ndarray:
        """Return a view of the filled part of one column."""
        return self._cols[name][: self._size]

    def _reserve(self, needed: int) -> None:
        """Grow every column so that at least ``needed`` rows fit."""
        capacity = len(next(iter(self._cols.values())))
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        for name, col in self._cols.items():
            grown = np.empty(capacity, dtype=col.dtype)
            grown[: self._size] = col[: self._size]
            self._cols[name] = grown
