"""Churn labels over the warehouse's feature tables (used by training; see tenure.churn.labels)."""

from __future__ import annotations

from tenure.churn.labels import churn_events, label_complete, label_table

__all__ = ["churn_events", "label_complete", "label_table"]
