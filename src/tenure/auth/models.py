"""App-DB models of auth."""

from __future__ import annotations

from tenure.db.base import Base

__all__ = ["Base"]
