"""Bring-your-own churn table: read a CSV, infer column types, binarise the target.

Everything here is pure pandas and fitted on nothing: the decisions (which columns are ids,
constants, free text, numbers or categories) depend on column *types and cardinality* only,
never on a statistic that a cross-validation fold would have to learn. Scaling and imputation
happen later, inside each fold's Pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tenure.errors import InputError

MAX_CATEGORIES = 50
POSITIVE_TOKENS = frozenset(
    ("yes", "y", "1", "1.0", "true", "t", "churn", "churned", "exited", "left", "lost")
)
NEGATIVE_TOKENS = frozenset(
    ("no", "n", "0", "0.0", "false", "f", "stay", "stayed", "retained", "active")
)
ID_NAME = re.compile(r"(^|[_\s])id$|[a-z]Id$|ID$|^id[_\s]|number$|^row", re.IGNORECASE)
MISSING_CATEGORY = "(missing)"


@dataclass
class ChurnTable:
    """A churn table ready for modelling: features, binary target, and what was dropped."""

    features: pd.DataFrame
    target: np.ndarray
    target_column: str
    positive: str
    numeric: list[str]
    categorical: list[str]
    dropped: dict[str, str] = field(default_factory=dict)
    keep: list[str] = field(default_factory=list)  # vouched for: never dropped as a leak

    @property
    def n_rows(self) -> int:
        """Return the number of labelled rows."""
        return len(self.target)

    @property
    def positive_rate(self) -> float:
        """Return the share of rows whose target is the positive (churn) value."""
        return float(self.target.mean()) if self.n_rows else 0.0


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV file (plain or compressed) as strings-or-numbers, refusing unreadable input."""
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file; pass --csv with a CSV (or .csv.gz) file")
    try:
        return pd.read_csv(path, low_memory=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it as CSV ({exc})") from exc


def churn_table(
    frame: pd.DataFrame,
    *,
    target: str,
    positive: str | None = None,
    id_column: str | None = None,
    keep: Sequence[str] = (),
    drop: Sequence[str] = (),
) -> ChurnTable:
    """Return the modelling table: typed features, 0/1 target, and the dropped columns.

    Target leaks are not judged here but on each training fold (`tenure.churn.leakage`);
    `keep` lists columns vouched for there, `drop` columns the user drops up front.
    """
    if target not in frame.columns:
        listed = ", ".join(map(str, frame.columns))
        raise InputError(f"target column {target!r} is not in the table; columns: {listed}")
    for option, names in (
        ("--id", [id_column] if id_column else []),
        ("--keep", keep),
        ("--drop", drop),
    ):
        _check_columns(frame, option, names)
    labelled = frame[frame[target].notna()].reset_index(drop=True)
    y, positive_value = binary_target(labelled[target], positive)
    dropped: dict[str, str] = {}
    if len(labelled) < len(frame):
        dropped[target] = f"{len(frame) - len(labelled)} rows without a target value skipped"
    dropped.update({str(name): "dropped by --drop" for name in drop if name != target})
    features = labelled.drop(columns=[target, *(name for name in drop if name != target)])
    features, numeric, categorical = _typed_features(features, id_column, dropped)
    table = ChurnTable(features, y, target, positive_value, numeric, categorical, dropped)
    table.keep = [str(name) for name in keep]
    return table


def _check_columns(frame: pd.DataFrame, option: str, names: Sequence[str]) -> None:
    """Refuse an option naming a column the table does not have."""
    for name in names:
        if name not in frame.columns:
            listed = ", ".join(map(str, frame.columns))
            raise InputError(f"{option} column {name!r} is not in the table; columns: {listed}")


def binary_target(values: pd.Series, positive: str | None) -> tuple[np.ndarray, str]:
    """Return the target as 0/1 and the positive value (given, or detected like "Yes" or 1)."""
    text = values.map(_as_text)
    distinct = sorted(text.unique())
    listed = ", ".join(repr(v) for v in distinct[:20]) + (" …" if len(distinct) > 20 else "")
    if positive is not None:
        wanted = _as_text(positive)
        if wanted not in distinct:
            raise InputError(
                f"--positive {positive!r} is not a value of {values.name!r}; its values: {listed}"
            )
        return (text == wanted).to_numpy(dtype=np.int8), wanted
    if len(distinct) != 2:
        raise InputError(
            f"target {values.name!r} has {len(distinct)} distinct values, not 2; pass "
            f"--positive VALUE to say which one means churn; its values: {listed}"
        )
    hits = [v for v in distinct if v.lower() in POSITIVE_TOKENS]
    other = next((v for v in distinct if v not in hits), None)
    if len(hits) != 1 or other is None or other.lower() not in NEGATIVE_TOKENS | {""}:
        raise InputError(
            f"cannot tell which value of target {values.name!r} means churn; pass "
            f"--positive VALUE; its values: {listed}"
        )
    return (text == hits[0]).to_numpy(dtype=np.int8), hits[0]


def _as_text(value: object) -> str:
    """Return a target value as comparable text: 1, 1.0 and "1" all become "1"."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _typed_features(
    features: pd.DataFrame, id_column: str | None, dropped: dict[str, str]
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Return the kept columns typed as numbers or categories; record each dropped column."""
    kept: dict[str, pd.Series] = {}
    numeric: list[str] = []
    categorical: list[str] = []
    for name in features.columns:
        column = _as_number_if_numeric(features[name])
        reason = _drop_reason(name, column, id_column, len(features))
        if reason:
            dropped[str(name)] = reason
        elif pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            kept[name] = column.astype(float)
            numeric.append(str(name))
        else:
            kept[name] = column.astype("string").fillna(MISSING_CATEGORY).astype(object)
            categorical.append(str(name))
    return pd.DataFrame(kept, index=features.index), numeric, categorical


def _as_number_if_numeric(column: pd.Series) -> pd.Series:
    """Return text columns of numbers (blanks allowed, e.g. Telco TotalCharges) as floats."""
    if column.dtype != object and not pd.api.types.is_string_dtype(column):
        return column
    stripped = column.astype("string").str.strip().replace("", pd.NA)
    if stripped.notna().sum() == 0:
        return column
    converted = pd.to_numeric(stripped, errors="coerce")
    return converted.astype(float) if converted.notna().sum() == stripped.notna().sum() else column


def _drop_reason(name: object, column: pd.Series, id_column: str | None, n_rows: int) -> str:
    """Return why a column is not a feature, or "" to keep it."""
    distinct = column.nunique(dropna=False)
    if id_column is not None and name == id_column:
        return "id column (--id)"
    if distinct <= 1:
        return "constant"
    if distinct == n_rows and column.notna().all() and _looks_like_id(name, column):
        return "id column (unique per row)"
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return ""
    if distinct > MAX_CATEGORIES:
        return f"free text ({distinct} distinct values, more than {MAX_CATEGORIES})"
    return ""


def _looks_like_id(name: object, column: pd.Series) -> bool:
    """Return whether a unique column is a key: text, or integers named like an id or row."""
    if pd.api.types.is_float_dtype(column):
        return False
    return not pd.api.types.is_numeric_dtype(column) or bool(ID_NAME.search(str(name)))
