"""Turn per-feature SHAP contributions into plain-language reasons a CSM can act on."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

UP_REASONS, DOWN_REASONS = 3, 2


def _n(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:.1f}"


def _trend(label: str) -> Callable[[float], str]:
    def text(value: float) -> str:
        change = (value - 1.0) * 100
        if abs(change) < 5:
            return f"{label} steady vs previous 30 days"
        direction = "down" if change < 0 else "up"
        return f"{label} {direction} {abs(change):.0f} % vs previous 30 days"

    return text


def _count(singular: str, plural: str, window: str) -> Callable[[float], str]:
    def text(value: float) -> str:
        noun = singular if value == 1 else plural
        return f"{_n(value)} {noun} {window}".strip()

    return text


_TEXTS: dict[str, Callable[[float], str]] = {
    "events_trend": _trend("product usage"),
    "events_7d": _count("event", "events", "in the last 7 days"),
    "events_30d": _count("event", "events", "in the last 30 days"),
    "events_90d": _count("event", "events", "in the last 90 days"),
    "events_per_seat_7d": lambda v: f"{v:.1f} events per seat in the last 7 days",
    "events_per_seat_30d": lambda v: f"{v:.1f} events per seat in the last 30 days",
    "events_7d_vs_90d": lambda v: f"last 7 days at {v * 100:.0f} % of the 90-day daily average",
    "cancellation_tickets_90d": _count(
        "ticket asking to cancel or downgrade",
        "tickets asking to cancel or downgrade",
        "in the last 90 days",
    ),
    "billing_tickets_90d": _count("billing ticket", "billing tickets", "in the last 90 days"),
    "active_users_30d": _count("active user", "active users", "in the last 30 days"),
    "active_users_7d": _count("active user", "active users", "in the last 7 days"),
    "active_user_share_30d": lambda v: f"{v * 100:.0f} % of seats active in the last 30 days",
    "active_days_30d": lambda v: f"active on {_n(v)} of the last 30 days",
    "distinct_events_30d": _count("feature used", "features used", "in the last 30 days"),
    "days_since_last_event": lambda v: (
        "active today" if v == 0 else f"no activity for {_n(v)}{'+' if v >= 90 else ''} days"
    ),
    "failed_payments_7d": _count("failed payment", "failed payments", "in the last 7 days"),
    "failed_payments_30d": _count("failed payment", "failed payments", "in the last 30 days"),
    "failed_payments_90d": _count("failed payment", "failed payments", "in the last 90 days"),
    "tickets_open": _count("open support ticket", "open support tickets", ""),
    "tickets_30d": _count("support ticket", "support tickets", "in the last 30 days"),
    "tickets_90d": _count("support ticket", "support tickets", "in the last 90 days"),
    "urgent_tickets_90d": _count("urgent ticket", "urgent tickets", "in the last 90 days"),
    "resolve_hours_90d": lambda v: f"tickets took {_n(v)} h to resolve on average",
    "ticket_csat_90d": lambda v: f"ticket CSAT {v:.1f} / 5",
    "survey_csat_180d": lambda v: f"survey CSAT {v:.1f} / 5",
    "nps_last": lambda v: (
        f"last NPS answer {v:.0f}"
        + (" (detractor)" if v <= 6 else " (promoter)" if v >= 9 else " (passive)")
    ),
    "nps_mean_180d": lambda v: f"average NPS answer {v:.1f} over 180 days",
    "mrr": lambda v: f"MRR {v / 100:,.0f}",
    "mrr_change_90d": lambda v: (
        "MRR unchanged over 90 days"
        if v == 0
        else f"MRR {'down' if v < 0 else 'up'} {abs(v) / 100:,.0f} over 90 days"
    ),
    "seats": _count("seat", "seats", ""),
    "tenure_days": lambda v: f"customer for {_n(v)} days",
    "plan_changes_90d": _count("plan change", "plan changes", "in the last 90 days"),
    "invoices_90d": _count("invoice", "invoices", "in the last 90 days"),
}


def _event_text(feature: str, value: float) -> str | None:
    """Return the text of a per-event-name feature (ev_<name>_30d|_per_seat|_trend)."""
    kinds = (("_30d", "count"), ("_per_seat", "per_seat"), ("_share", "share"), ("_trend", "trend"))
    for suffix, kind in kinds:
        if feature.startswith("ev_") and feature.endswith(suffix):
            label = feature[3 : -len(suffix)].replace("_", " ")
            if kind == "trend":
                return _trend(label)(value)
            if kind == "per_seat":
                return f"{label}: {value:.1f} per seat in the last 30 days"
            if suffix == "_share":
                return f"{label}: {value * 100:.0f} % of all activity in the last 30 days"
            return f"{label}: {_n(value)} in the last 30 days"
    return None


def reason_text(feature: str, value: Any) -> str:
    """Return a plain-language description of one feature value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"no {feature.replace('_', ' ')} on record"
    if isinstance(value, str):
        label = feature.removeprefix("attr_").replace("_", " ")
        return f"{label}: {value}"
    value = float(value)
    text = _event_text(feature, value)
    if text is not None:
        return text
    if feature in _TEXTS:
        return _TEXTS[feature](value)
    return f"{feature.replace('_', ' ')} {_n(value)}"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def top_reasons(contributions: pd.DataFrame, features: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """Return per row the top 3 drivers up and top 2 down, strongest first by |contribution|."""
    names = [str(name) for name in contributions.columns]
    values = contributions.to_numpy(dtype=float)
    candidates = np.concatenate(
        [_largest(values, UP_REASONS), _largest(-values, DOWN_REASONS)], axis=1
    )
    picked = np.take_along_axis(values, candidates, axis=1)
    ups = min(UP_REASONS, values.shape[1])
    kept = np.concatenate([picked[:, :ups] > 0, picked[:, ups:] < 0], axis=1)
    order = np.argsort(np.where(kept, -np.abs(picked), np.inf), axis=1, kind="stable")
    candidates = np.take_along_axis(candidates, order, axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    counts = kept.sum(axis=1).tolist()
    shown = _cells(features, names, candidates)
    texts: dict[tuple[int, Any], str] = {}  # the same feature value reads the same every time
    out = []
    for count, columns, contribution, value_row in zip(
        counts, candidates.tolist(), np.round(picked, 4).tolist(), shown, strict=True
    ):
        reasons = []
        for k in range(count):
            j, value = columns[k], value_row[k]
            text = texts.get((j, value))
            if text is None:
                text = texts[(j, value)] = reason_text(names[j], value)
            reasons.append(
                {"feature": names[j], "value": value, "contribution": contribution[k], "text": text}
            )
        out.append(reasons)
    return out


def _largest(values: np.ndarray, k: int) -> np.ndarray:
    """Return the column indices of each row's k largest values, largest first."""
    k = min(k, values.shape[1])
    remaining = values.copy()
    rows = np.arange(len(values))
    picked = np.empty((len(values), k), dtype=np.intp)
    for rank in range(k):  # k argmax passes beat a per-row partition for k ≤ 3
        picked[:, rank] = remaining.argmax(axis=1)
        remaining[rows, picked[:, rank]] = -np.inf
    return picked


def _cells(features: pd.DataFrame, names: list[str], candidates: np.ndarray) -> list[list[Any]]:
    """Return the feature values at the candidate columns as plain Python (NaN as None)."""
    numeric = [pd.api.types.is_numeric_dtype(features[name].dtype) for name in names]
    matrix = np.full((len(features), len(names)), np.nan)
    for j, name in enumerate(names):
        if numeric[j]:
            matrix[:, j] = features[name].to_numpy(dtype=float)
    cells = np.take_along_axis(matrix, candidates, axis=1).tolist()
    out = [[None if v != v else v for v in row] for row in cells]  # v != v: NaN
    for j, name in enumerate(names):
        if not numeric[j]:
            column = features[name].to_numpy(dtype=object)
            for row, k in zip(*np.nonzero(candidates == j), strict=True):
                out[row][k] = _plain(column[row])
    return out
