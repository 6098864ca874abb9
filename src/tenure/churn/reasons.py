"""Turn per-feature SHAP contributions into plain-language reasons a CSM can act on."""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

UP_REASONS, DOWN_REASONS = 3, 2
CHUNK_ROWS = 65_536  # drivers are picked per block of rows: cache-sized copies


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


def describe(reasons: list[Any]) -> list[dict[str, Any]]:
    """Return stored reasons as {"feature", "value", "contribution", "text"} dicts.

    Bulk scoring stores each reason as a compact [feature, value, contribution] triple; the
    plain-language text follows from feature and value, so it is written here, on read.
    Reasons stored as dicts (with or without their text) are completed the same way.
    """
    out = []
    for reason in reasons:
        if isinstance(reason, list):
            feature, value, contribution = reason
            reason = {"feature": feature, "value": value, "contribution": contribution}
        if "text" not in reason:
            reason = {**reason, "text": reason_text(reason["feature"], reason["value"])}
        out.append(reason)
    return out


def top_reasons(contributions: pd.DataFrame, features: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """Return per row the top 3 drivers up and top 2 down, strongest first, with their texts."""
    names = [str(name) for name in contributions.columns]
    numeric = [name for name in names if pd.api.types.is_numeric_dtype(features[name].dtype)]
    ordered = numeric + [name for name in names if name not in numeric]
    texts = reasons_json(
        contributions[ordered].to_numpy(dtype=float),
        ordered,
        features[numeric].to_numpy(dtype=float),
        features,
    )
    return [describe(json.loads(text)) for text in texts]


def reasons_json(
    contributions: np.ndarray, names: list[str], numbers: np.ndarray, labels: pd.DataFrame
) -> list[str]:
    """Return per row the top drivers (3 up, 2 down, strongest first) as JSON text, in bulk.

    `contributions` is (rows, features) in the order of `names`; `numbers` holds the values
    of the leading numeric features, and the remaining (categorical) ones are read from
    `labels` by name. Each reason is a [feature, value, contribution] triple, e.g.
    `[["failed_payments_30d",2.0,0.41]]`; `describe` turns it into the reason a reader sees.
    No string is formatted per row in Python: DuckDB writes the JSON from the driver arrays.
    """
    parts = max(1, min(os.cpu_count() or 1, len(contributions) // CHUNK_ROWS))
    bounds = np.linspace(0, len(contributions), parts + 1).astype(int)
    spans = list(itertools.pairwise(bounds.tolist()))
    quoted = [json.dumps(name) for name in names]

    def part(span: tuple[int, int]) -> list[str]:
        start, end = span
        rows = labels.iloc[start:end]
        return _part_json(contributions[start:end], quoted, names, numbers[start:end], rows)

    with ThreadPoolExecutor(parts) as pool:  # NumPy and DuckDB release the GIL
        return [text for texts in pool.map(part, spans) for text in texts]


def _part_json(
    contributions: np.ndarray,
    quoted: list[str],
    names: list[str],
    numbers: np.ndarray,
    labels: pd.DataFrame,
) -> list[str]:
    """Return `reasons_json` for one span of rows (drivers found block by block)."""
    starts = range(0, max(len(contributions), 1), CHUNK_ROWS)
    exact = np.result_type(contributions.dtype, np.float32)  # float32 SHAP stays float32
    blocks = [drivers(np.asarray(contributions[s : s + CHUNK_ROWS], exact)) for s in starts]
    candidates, picked, counts = (np.concatenate(part) for part in zip(*blocks, strict=True))
    if not candidates.shape[1]:
        return ["[]"] * len(contributions)
    values, texts = _driver_values(candidates, names, numbers, labels)
    columns: dict[str, Any] = {"n": counts}
    with np.errstate(over="ignore"):  # beyond float32's range: inf, stored as null
        seen = values.astype(np.float32)  # the value as the model's float32 matrix held it
    for k in range(candidates.shape[1]):
        columns[f"f{k}"] = candidates[:, k].astype(np.int32)
        columns[f"v{k}"] = pa.array(seen[:, k], mask=~np.isfinite(seen[:, k]))
        columns[f"s{k}"] = pa.array(texts[:, k], type=pa.string())
        columns[f"c{k}"] = np.round(picked[:, k].astype(float), 4)
    with duckdb.connect(config={"threads": 1}) as con:  # one span per core already
        con.register("driver_rows", pa.table(columns))
        query = con.execute(_json_query(candidates.shape[1]), {"names": quoted})
        return query.fetchnumpy()["reasons"].tolist()


def _json_query(width: int) -> str:
    """Return the query that writes each row's first n drivers as a JSON array of triples.

    Names and labels arrive JSON-quoted. A FLOAT cast to text is already a JSON number (the
    shortest digits that read back as the same float32; NaN and infinities never get here);
    contributions are written with 4 decimals.
    """
    items = [
        f"CASE WHEN n > {k} THEN '[' || $names[f{k} + 1] || ',' || "
        f"coalesce(s{k}, CAST(v{k} AS VARCHAR), 'null') || ',' || "
        f"CAST(CAST(c{k} AS DECIMAL(18, 4)) AS VARCHAR) || ']' END"
        for k in range(width)
    ]
    return f"SELECT '[' || concat_ws(',', {', '.join(items)}) || ']' AS reasons FROM driver_rows"


def drivers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per row the driver columns, their contributions and how many of them count.

    Candidates are the 3 largest and 2 smallest contributions; only positive ones among the
    first and negative ones among the second count; they come first, strongest |value| first.
    """
    candidates = np.concatenate(
        [_largest(values, UP_REASONS), _largest(-values, DOWN_REASONS)], axis=1
    )
    picked = np.take_along_axis(values, candidates, axis=1)
    ups = min(UP_REASONS, values.shape[1])
    kept = np.concatenate([picked[:, :ups] > 0, picked[:, ups:] < 0], axis=1)
    order = np.argsort(np.where(kept, -np.abs(picked), np.inf), axis=1, kind="stable")
    candidates = np.take_along_axis(candidates, order, axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    return candidates, picked, kept.sum(axis=1)


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


def _driver_values(
    candidates: np.ndarray, names: list[str], numbers: np.ndarray, labels: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Return the values at the candidate columns: numbers (NaN if none) and JSON-quoted labels."""
    width = numbers.shape[1]
    values = np.full(candidates.shape, np.nan)
    if width:
        gathered = np.take_along_axis(numbers, np.minimum(candidates, width - 1), axis=1)
        values = np.where(candidates < width, gathered, np.nan)
    texts = np.full(candidates.shape, None, dtype=object)
    for j in range(width, len(names)):
        rows, slots = np.nonzero(candidates == j)
        codes, levels = pd.factorize(labels[names[j]].to_numpy(dtype=object)[rows])
        quoted = np.array([json.dumps(str(level)) for level in levels] + [None], dtype=object)
        texts[rows, slots] = quoted[codes]  # code -1 (None or NaN) picks the trailing None
    return values, texts


def is_missing(value: Any) -> bool:
    """Return True for None and float NaN (pandas' missing markers in object columns)."""
    return value is None or (isinstance(value, float) and math.isnan(value))
