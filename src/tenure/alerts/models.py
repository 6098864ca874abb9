"""App-DB models of alerts."""

from __future__ import annotations

from tenure.db.base import Base

__all__ = ["Base"]
