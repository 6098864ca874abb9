"""From gathered inputs to measure values, scorecard choice and scores (pure, vectorised)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from tenure.health.inputs import LOGIN_LOOKBACK_DAYS, end_of
from tenure.health.scorecards import MEASURE_KINDS, ScorecardDefinition
from tenure.health.scoring import ScoredAccounts, quantile_grid, score_accounts


def _column(frame: pd.DataFrame, name: str, fill: float | None = None) -> pd.Series:
    series = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
    series = pd.to_numeric(series, errors="coerce").astype(float)
    return series if fill is None else series.fillna(fill)


def _days_since(frame: pd.DataFrame, day: date) -> pd.Series:
    if "last_login_at" not in frame:
        return pd.Series(float(LOGIN_LOOKBACK_DAYS), index=frame.index)
    last = pd.to_datetime(frame["last_login_at"], utc=True)
    days = np.floor((pd.Timestamp(end_of(day)) - last).dt.total_seconds() / 86400.0)
    return days.fillna(float(LOGIN_LOOKBACK_DAYS)).clip(lower=0).astype(float)


def measure_values(
    accounts: pd.DataFrame,
    usage: pd.DataFrame,
    app: pd.DataFrame,
    day: date,
    available: Mapping[str, bool],
) -> pd.DataFrame:
    """Return one row per account (same order) with a value column per measure kind."""
    frame = accounts[["account_id", "seats"]].merge(usage, on="account_id", how="left")
    frame = frame.merge(app, on="account_id", how="left")
    seats = _column(frame, "seats")
    seats = seats.where(seats > 0)
    events, previous = _column(frame, "events_30d", 0), _column(frame, "events_prev_30d", 0)
    values = pd.DataFrame(index=frame.index)
    values["account_id"] = frame["account_id"].to_numpy()
    values["usage_depth"] = events / seats.fillna(1.0)
    values["usage_breadth"] = _column(frame, "features_30d", 0)
    values["login_recency"] = _days_since(frame, day)
    values["seat_utilisation"] = _column(frame, "users_30d", 0) / seats
    trend = np.where(previous > 0, events / previous.where(previous > 0) - 1.0, np.nan)
    values["usage_trend"] = np.where((previous == 0) & (events > 0), 1.0, trend)
    values["support_load"] = _column(frame, "support_load", 0)
    values["csat"] = _column(frame, "csat")
    values["nps"] = _column(frame, "nps")
    failed, downgrades = _column(frame, "failed_payments", 0), _column(frame, "downgrades", 0)
    values["billing_health"] = failed + downgrades
    values["churn_probability"] = _column(frame, "churn_probability")
    for kind, present in available.items():
        if not present and kind in values:
            values[kind] = np.nan
    return values.reset_index(drop=True)


def build_references(values: pd.DataFrame) -> dict[str, list[float]]:
    """Return every measure kind's population quantiles (kinds nobody has are left out)."""
    references = {}
    for kind in MEASURE_KINDS:
        grid = quantile_grid(values[kind].to_numpy(dtype=float))
        if grid:
            references[kind] = grid
    return references


def assign_scorecards(
    cards: list[ScorecardDefinition],
    accounts: pd.DataFrame,
    members: Mapping[str, set[int]],
) -> np.ndarray:
    """Return the scorecard name for each account: the first match by priority."""
    chosen = np.full(len(accounts), "", dtype=object)
    lifecycle = accounts["lifecycle"].to_numpy()
    ids = accounts["account_id"].to_numpy(dtype=np.int64)
    for card in cards:
        match = chosen == ""
        if card.applies_to.lifecycle:
            match &= np.isin(lifecycle, card.applies_to.lifecycle)
        if card.applies_to.segment is not None:
            match &= pd.Series(ids).isin(members.get(card.applies_to.segment, set())).to_numpy()
        chosen[match] = card.name
    return chosen


def score_population(
    cards: list[ScorecardDefinition],
    accounts: pd.DataFrame,
    values: pd.DataFrame,
    references: Mapping[str, list[float]],
    members: Mapping[str, set[int]],
) -> list[ScoredAccounts]:
    """Score every account with its scorecard; return one ScoredAccounts per scorecard used."""
    chosen = assign_scorecards(cards, accounts, members)
    results = []
    for card in cards:
        rows = np.flatnonzero(chosen == card.name)
        if rows.size:
            part = values.iloc[rows].reset_index(drop=True)
            ids = part["account_id"].to_numpy(dtype=np.int64)
            results.append(score_accounts(card, ids, part, dict(references)))
    return results
