"""Turn measure values into 0–100 health scores, tiers and reasons (pure, vectorised).

A measure's score comes from its thresholds (linear between points, flat beyond them) or from
its percentile: the mid-rank of the value among the day's population quantiles (201 points),
flipped when lower values are healthier. The health score is the weighted mean of the measures
that have a value; missing measures drop out and the others are re-weighted. Each measure's
`points` is its contribution to the score (effective weight × score), so the points sum to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tenure.health.scorecards import MeasureSpec, ScorecardDefinition

QUANTILE_POINTS = 201


def threshold_scores(values: np.ndarray, points: list[tuple[float, float]]) -> np.ndarray:
    """Score values by piecewise-linear thresholds; NaN stays NaN."""
    xs = np.array([x for x, _ in points], dtype=float)
    ys = np.array([y for _, y in points], dtype=float)
    return np.where(np.isnan(values), np.nan, np.interp(values, xs, ys))


def quantile_grid(values: np.ndarray) -> list[float]:
    """Return the population's quantiles (empty when no account has a value)."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return []
    return np.quantile(present, np.linspace(0, 1, QUANTILE_POINTS)).tolist()


def percentile_scores(values: np.ndarray, grid: list[float], higher_is_better: bool) -> np.ndarray:
    """Score values by their mid-rank among the population quantiles (0–100)."""
    if not grid:
        return np.full(values.shape, np.nan)
    q = np.asarray(grid, dtype=float)
    rank = (np.searchsorted(q, values, "left") + np.searchsorted(q, values, "right")) / 2
    scores = 100.0 * rank / q.size
    scores = scores if higher_is_better else 100.0 - scores
    return np.where(np.isnan(values), np.nan, scores)


def measure_scores(
    spec: MeasureSpec, values: np.ndarray, references: dict[str, list[float]]
) -> np.ndarray:
    """Score one measure's values by its thresholds or percentile."""
    if spec.thresholds:
        return threshold_scores(values, spec.thresholds)
    return percentile_scores(
        values, references.get(spec.kind or spec.name, []), spec.higher_is_better
    )


@dataclass
class ScoredAccounts:
    """Scores of accounts under one scorecard: per-measure values, scores, points, totals."""

    card: ScorecardDefinition
    account_ids: np.ndarray
    values: pd.DataFrame  # account × measure name
    scores: pd.DataFrame
    points: pd.DataFrame
    total: np.ndarray
    tiers: list[str]

    def measures_json(self) -> list[dict[str, dict[str, Any]]]:
        """Return each account's measures as stored in health_score.measures."""
        names = [m.name for m in self.card.measures]
        weights = [m.weight for m in self.card.measures]
        values = _listed(self.values[names].to_numpy(dtype=float), 4)
        scores = _listed(self.scores[names].to_numpy(dtype=float), 2)
        points = _listed(self.points[names].to_numpy(dtype=float), 2)
        out = []
        for value_row, score_row, point_row in zip(values, scores, points, strict=True):
            out.append(
                {
                    name: {
                        "value": value,
                        "score": score,
                        "weight": weight,
                        "points": 0.0 if score is None else point,
                        "missing": score is None,
                    }
                    for name, weight, value, score, point in zip(
                        names, weights, value_row, score_row, point_row, strict=True
                    )
                }
            )
        return out

    def measures_text(self) -> list[str]:
        """Return measures_json() already serialised (what json.dumps would write), faster."""
        columns = []
        for spec in self.card.measures:
            scores = self.scores[spec.name].to_numpy(dtype=float)
            missing = np.isnan(scores)
            values = _numbers(self.values[spec.name].to_numpy(dtype=float), 4)
            points = _numbers(np.where(missing, 0.0, self.points[spec.name].to_numpy()), 2)
            head = f'{json.dumps(spec.name)}: {{"value": '
            tail = f', "weight": {json.dumps(spec.weight)}, "points": '
            columns.append(
                [
                    f'{head}{v}, "score": {s}{tail}{p}, "missing": {"true" if m else "false"}}}'
                    for v, s, p, m in zip(
                        values, _numbers(scores, 2), points, missing.tolist(), strict=True
                    )
                ]
            )
        return ["{" + ", ".join(parts) + "}" for parts in zip(*columns, strict=True)]


def _numbers(values: np.ndarray, digits: int) -> list[str]:
    """Return rounded floats as JSON text, null for NaN."""
    return ["null" if x != x else repr(x) for x in np.round(values, digits).tolist()]


def _listed(matrix: np.ndarray, digits: int) -> list[list[float | None]]:
    """Return rows of rounded floats with None for NaN."""
    rounded = np.round(matrix, digits).astype(object)
    rounded[np.isnan(matrix)] = None
    return rounded.tolist()


def score_accounts(
    card: ScorecardDefinition,
    account_ids: np.ndarray,
    values: pd.DataFrame,
    references: dict[str, list[float]],
) -> ScoredAccounts:
    """Score accounts (rows of values, columns = measure kinds) with a scorecard."""
    names = [m.name for m in card.measures]
    measure_values = pd.DataFrame(
        {m.name: values[m.kind].to_numpy(dtype=float) for m in card.measures}, columns=names
    )
    scores = pd.DataFrame(
        {
            m.name: measure_scores(m, measure_values[m.name].to_numpy(), references)
            for m in card.measures
        },
        columns=names,
    )
    weights = np.array([m.weight for m in card.measures], dtype=float)
    present = ~np.isnan(scores.to_numpy())
    effective = np.where(present, weights, 0.0)
    totals = effective.sum(axis=1, keepdims=True)
    share = np.divide(effective, totals, out=np.zeros_like(effective), where=totals > 0)
    points = pd.DataFrame(share * np.nan_to_num(scores.to_numpy()), columns=names)
    total = np.clip(points.to_numpy().sum(axis=1), 0.0, 100.0).round(2)
    tiers = [card.tier_of(s) for s in total]
    return ScoredAccounts(card, account_ids, measure_values, scores, points, total, tiers)


def points_before(scored: ScoredAccounts, stored: pd.DataFrame) -> np.ndarray:
    """Return each account's stored points per measure (NaN rows where nothing is stored).

    stored is indexed by account id with a column per measure name (NaN: measure absent then).
    """
    names = [m.name for m in scored.card.measures]
    rows = stored.reindex(index=scored.account_ids, columns=names).to_numpy(dtype=float)
    has = pd.Index(stored.index).get_indexer(scored.account_ids) >= 0
    return np.where(has[:, None], np.nan_to_num(rows), np.nan)


def reasons(scored: ScoredAccounts, before: np.ndarray) -> list[str]:
    """Name, per account, the measure whose points moved most since before (first on ties).

    Accounts without earlier points get their weakest measure (lowest score) instead.
    """
    names = [m.name for m in scored.card.measures]
    now = scored.points[names].to_numpy(dtype=float)
    values = scored.values[names].to_numpy(dtype=float)
    scores = scored.scores[names].to_numpy(dtype=float)
    move = now - before
    biggest = np.abs(np.nan_to_num(move)).argmax(axis=1)
    weakest = np.where(np.isnan(scores), np.inf, scores).argmin(axis=1)
    out = []
    for i in range(now.shape[0]):
        if not np.isnan(before[i]).all():
            j = biggest[i]
            out.append(
                f"{names[j]} {move[i, j]:+.1f} points in 7 days (value {_text(values[i, j])})"
                if abs(move[i, j]) >= 0.05
                else "no measure moved in 7 days"
            )
        elif np.isnan(scores[i]).all():
            out.append("no measure has data")
        else:
            j = weakest[i]
            out.append(
                f"weakest: {names[j]} (score {scores[i, j]:.0f}, value {_text(values[i, j])})"
            )
    return out


def _text(value: float) -> str:
    return "missing" if np.isnan(value) else f"{round(value, 4):g}"


def missing_measures(measures: dict[str, dict[str, Any]]) -> list[str]:
    """Return the measures that had no value (re-weighted away)."""
    return sorted(n for n, m in measures.items() if m.get("missing"))
