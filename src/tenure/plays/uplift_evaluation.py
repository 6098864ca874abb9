"""`tenure uplift evaluate`: cross-fitted uplift models on any randomised table, and their scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tenure.errors import InputError
from tenure.plays import uplift_metrics as um
from tenure.plays.uplift import LEARNERS, cross_fitted_uplift

MAX_LEVELS = 64
MIN_PER_ARM = 20


@dataclass
class RandomisedTable:
    """A randomised comparison as model inputs: features, outcome, treated flag, ids."""

    features: np.ndarray
    outcome: np.ndarray
    treated: np.ndarray
    feature_names: list[str]
    ids: list[str] | None = None
    dropped_columns: list[str] = field(default_factory=list)


def _read(path: Path) -> Any:
    import duckdb

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return duckdb.sql("SELECT * FROM read_csv(?, header = true)", params=[str(path)]).df()
    except duckdb.Error as exc:
        raise InputError(f"{path}: cannot read as CSV: {exc}") from exc


def _column(frame: Any, path: Path, name: str | None, option: str) -> None:
    if name is not None and name not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise InputError(f"{path}: {option} column {name!r} not found (columns: {columns})")


def _outcome(frame: Any, path: Path, column: str) -> np.ndarray:
    import pandas as pd

    values = frame[column]
    if values.dtype == bool:
        return values.to_numpy(dtype=float)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # header is line 1
        raise InputError(
            f"{path}: line {row}, column {column!r}: {values[bad].iloc[0]!r} is not a number"
        )
    return numbers.to_numpy(dtype=float)


def _treated(frame: Any, path: Path, column: str, control: str, treated: str | None) -> Any:
    labels = frame[column].astype(str)
    present = sorted(labels.unique())
    if control not in present:
        raise InputError(f"{path}: control value {control!r} not in column {column!r} ({present})")
    if treated is not None and treated not in present:
        raise InputError(f"{path}: treated value {treated!r} not in column {column!r} ({present})")
    keep = (labels == control) | (labels == treated if treated is not None else labels != control)
    return keep.to_numpy(), (labels != control).to_numpy()


def _features(frame: Any, skip: set[str]) -> tuple[np.ndarray, list[str], list[str]]:
    import pandas as pd

    numeric, categorical, dropped = [], [], []
    for name in frame.columns:
        if name in skip:
            continue
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or column.dtype == bool:
            numeric.append(name)
        elif column.nunique(dropna=True) <= MAX_LEVELS:
            categorical.append(name)
        else:
            dropped.append(name)
    parts = frame[numeric].astype(float)
    if categorical:
        dummies = pd.get_dummies(frame[categorical].astype(str), prefix_sep="=", dtype=float)
        parts = pd.concat([parts, dummies], axis=1)
    return parts.to_numpy(dtype=float), [str(c) for c in parts.columns], dropped


def load_randomised(
    path: Path,
    *,
    treatment: str,
    control: str,
    outcome: str,
    id_column: str | None = None,
    treated_value: str | None = None,
) -> RandomisedTable:
    """Read a CSV of a randomised comparison; refuse unusable input with file, line and column."""
    frame = _read(path)
    for name, option in ((treatment, "--treatment"), (outcome, "--outcome"), (id_column, "--id")):
        _column(frame, path, name, option)
    keep, is_treated = _treated(frame, path, treatment, control, treated_value)
    frame, is_treated = frame[keep].reset_index(drop=True), is_treated[keep]
    y = _outcome(frame, path, outcome)
    arms = (int(is_treated.sum()), int((~is_treated).sum()))
    if min(arms) < MIN_PER_ARM:
        raise InputError(
            f"{path}: {arms[0]} treated and {arms[1]} control rows; "
            f"uplift needs at least {MIN_PER_ARM} in each arm"
        )
    skip = {treatment, outcome} | ({id_column} if id_column else set())
    X, names, dropped = _features(frame, skip)
    ids = frame[id_column].astype(str).tolist() if id_column else None
    return RandomisedTable(X, y, is_treated, names, ids, dropped)


def score_ranking(table: RandomisedTable, scores: np.ndarray) -> dict[str, float]:
    """Return the ranking figures of one set of out-of-fold uplift scores."""
    y, t = table.outcome, table.treated
    return {
        "qini_auc": um.qini_coefficient(y, t, scores),
        "auuc": um.auuc(y, t, scores),
        "uplift_at_10": um.uplift_at(y, t, scores, 0.10),
        "uplift_at_30": um.uplift_at(y, t, scores, 0.30),
    }


def evaluate(
    table: RandomisedTable, model: str = "x_learner", folds: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Return the issue's JSON: the chosen model's cross-fitted figures, the ATE, every model."""
    ate, low, high = um.average_effect(table.outcome, table.treated)
    per_model = {
        name: score_ranking(
            table,
            cross_fitted_uplift(table.features, table.outcome, table.treated, name, folds, seed),
        )
        for name in LEARNERS
    }
    return {
        **per_model[model],
        "ate": ate,
        "ate_ci_low": low,
        "ate_ci_high": high,
        "n_rows": len(table.outcome),
        "model": model,
        "folds": folds,
        "models": per_model,
        "features": len(table.feature_names),
        "dropped_columns": table.dropped_columns,
    }
