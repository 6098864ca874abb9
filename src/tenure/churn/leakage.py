"""Target-leak checks on a churn table's training rows: values in, findings out.

A leak is a column that knows the answer: the label under another name or encoding, a field
filled only once a customer has left (its *missingness* gives it away), or a value written at
cancellation. Each check is univariate and runs on the rows a model is fitted on (the training
folds of a cross-validation, the training snapshots of `tenure model train`), never on the rows
it is scored on. Every AUC here is direction-free (max of AUC and 1 − AUC).

- a column that determines the target exactly (every one of its few values belongs to one
  class), or whose missingness, or one of whose values, does so nearly (indicator AUC ≥ 0.99),
  or whose values alone reach AUC ≥ 0.99: a leak, dropped;
- a column whose values alone reach AUC ≥ 0.90: kept, with a warning;
- a column named like an outcome (`reason`, `score`, `churn`, `cancel`, `status`, …): warned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.model_selection import KFold

LEAK_AUC = 0.99
WARN_AUC = 0.90
MAX_LEVELS = 50
ENCODING_FOLDS = 5
ATTRIBUTE_PREFIX = "attr_"
MISSING_LABELS = frozenset(("(missing)",))
MISSING_KEY = "\0missing"
LEAK_KINDS = ("copy", "missingness", "value", "values")
OUTCOME_NAME = re.compile(
    r"reason|score|churn|cancel|status|exit|terminat|attrition|closed|outcome|label|target|"
    r"retention|win_?back|lost|left_?(at|on|date)|end_?date",
    re.IGNORECASE,
)
INNOCENT_NAME = re.compile(r"credit_?score", re.IGNORECASE)
AFTER_THE_FACT = (
    "check it is not derived from the label: a score, a reason, a status after the fact"
)


@dataclass(frozen=True)
class Finding:
    """What one check found about one column (an AUC is on the training rows)."""

    column: str
    kind: str  # copy, missingness, value, values (leaks); strong, name (warnings)
    auc: float | None = None
    level: str | None = None  # the value (kind "value") or the matched name part ("name")
    churn_share: float | None = None  # share of churners with the level (or missing)
    other_share: float | None = None  # share of the others with it
    levels: int | None = None  # distinct values (kind "copy")
    folds: int = 1  # training folds (or runs) that found it
    of_folds: int = 1

    @property
    def is_leak(self) -> bool:
        """Return whether this finding drops the column."""
        return self.kind in LEAK_KINDS

    @property
    def reason(self) -> str:
        """Return the short reason recorded beside a dropped column."""
        if self.kind == "copy":
            text = (
                "identical to the target (leak)"
                if self.levels == 2
                else f"determines the target exactly: each of its {self.levels} values "
                "belongs to one class (leak)"
            )
        elif self.kind == "missingness":
            text = f"its missingness predicts the target (AUC {self.auc:.3f}; leak)"
        elif self.kind == "value":
            text = f"its value {self.level!r} predicts the target (AUC {self.auc:.3f}; leak)"
        else:
            text = f"its values alone predict the target (AUC {self.auc:.3f}; leak)"
        return text + self._fold_note()

    def message(self) -> str:
        """Return the warning a user reads: the column, the evidence, what was done."""
        name = repr(self.column)
        if self.kind == "copy":
            return (
                f"column {name} determines the target exactly (each of its {self.levels} values "
                "belongs to one class), so it was dropped as a leak; check that it is not the "
                f"label (or derived from it) under another name{self._fold_note()}"
            )
        if self.kind in ("missingness", "value"):
            what = "filled" if self.kind == "missingness" else f"{self.level!r}"
            return (
                f"column {name} is {what} for {self.churn_share:.0%} of churners and "
                f"{self.other_share:.0%} of the others (AUC {self.auc:.3f} on that alone), so it "
                f"was dropped as a leak; {AFTER_THE_FACT}{self._fold_note()}"
            )
        if self.kind == "values":
            return (
                f"column {name} alone separates churners (AUC {self.auc:.3f}), so it was dropped "
                f"as a leak; {AFTER_THE_FACT}{self._fold_note()}"
            )
        if self.kind == "strong":
            return (
                f"column {name} alone reaches AUC {self.auc:.3f}; kept, but {AFTER_THE_FACT}"
                f"{self._fold_note()}"
            )
        return (
            f"column {name} is named like an outcome ({self.level!r}); kept, but {AFTER_THE_FACT}"
        )

    def _fold_note(self) -> str:
        if self.folds >= self.of_folds:
            return ""
        return f" (in {self.folds} of {self.of_folds} training folds)"


@dataclass
class Screening:
    """The findings on one set of training rows: leaks (dropped) and warnings (kept)."""

    leaks: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    vouched: list[Finding] = field(default_factory=list)  # leaks kept by --keep

    @property
    def dropped(self) -> list[str]:
        """Return the columns dropped as leaks."""
        return [finding.column for finding in self.leaks]

    def messages(self) -> list[str]:
        """Return every warning a user should read, leaks first."""
        kept = [
            f"column {f.column!r} looks like a leak ({f.reason}) but is kept: --keep vouches for it"
            for f in self.vouched
        ]
        return [f.message() for f in self.leaks] + kept + [f.message() for f in self.warnings]


def screen(
    features: pd.DataFrame, target: np.ndarray, *, keep: Iterable[str] = (), seed: int = 0
) -> Screening:
    """Return the leak findings of every column against the target on these (training) rows."""
    y = np.asarray(target).astype(int)
    vouched = set(keep)
    result = Screening()
    if len(np.unique(y)) < 2:
        return result
    for name in features.columns:
        finding = column_finding(features[name], y, seed=seed)
        if finding is not None and finding.is_leak:
            (result.vouched if name in vouched else result.leaks).append(finding)
            continue
        if finding is not None:
            result.warnings.append(finding)
        named = name_finding(str(name))
        if named is not None and name not in vouched:
            result.warnings.append(named)
    return result


def column_finding(column: pd.Series, y: np.ndarray, *, seed: int = 0) -> Finding | None:
    """Return the strongest univariate evidence that a column restates the target, if any."""
    name = str(column.name)
    missing = column.isna().to_numpy() | column.isin(MISSING_LABELS).to_numpy()
    filled = _missingness_finding(name, missing, y)
    if filled is not None:
        return filled
    codes, labels = _codes(column, missing)
    counts = _level_counts(codes, len(labels), y) if len(labels) <= MAX_LEVELS else None
    if counts is not None and _is_exact(counts, len(y)):
        return Finding(name, "copy", auc=1.0, levels=len(labels))
    value = _value_finding(name, counts, labels)
    if value is not None:
        return value
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        auc = numeric_auc(column.to_numpy(dtype=float), missing, y)
    else:
        auc = _auc(y, _encoded_out_of_fold(codes, len(labels), y, seed))
    if auc >= LEAK_AUC:
        return Finding(name, "values", auc=auc)
    return Finding(name, "strong", auc=auc) if auc >= WARN_AUC else None


def name_finding(name: str) -> Finding | None:
    """Return a warning when a column's name says it is an outcome (a reason, a score, …)."""
    if INNOCENT_NAME.search(name):
        return None
    match = OUTCOME_NAME.search(name)
    return Finding(name, "name", level=match.group(0).lower()) if match else None


def indicator_auc(mask: np.ndarray, y: np.ndarray) -> float:
    """Return the direction-free AUC of a 0/1 indicator against the target."""
    churn_share, other_share = _shares(mask, y)
    auc = 0.5 * (1.0 + churn_share - other_share)
    return max(auc, 1.0 - auc)


def numeric_auc(values: np.ndarray, missing: np.ndarray, y: np.ndarray) -> float:
    """Return the direction-free AUC of numbers (missing ranked lowest, then highest)."""
    present = values[~missing]
    if present.size == 0:
        return 0.5
    low, high = present.min() - 1.0, present.max() + 1.0
    return max(_auc(y, np.where(missing, fill, values)) for fill in (low, high))


def _auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Return the direction-free AUC of scores (ties count half), from their ranks."""
    ranks = rankdata(scores)
    positives = int(y.sum())
    negatives = len(y) - positives
    auc = (ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    return float(max(auc, 1.0 - auc))


def _shares(mask: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Return the share of churners and of the others for whom mask holds."""
    positives = y == 1
    return float(mask[positives].mean()), float(mask[~positives].mean())


def _codes(column: pd.Series, missing: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Return each row's level as an integer code, and the levels (missing is the last one)."""
    codes, uniques = pd.factorize(column.astype(object).where(~missing, None))
    labels = [str(u) for u in uniques]
    if missing.any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(MISSING_KEY)
    return codes, labels


def _level_counts(codes: np.ndarray, levels: int, y: np.ndarray) -> np.ndarray:
    """Return rows per level and class: one row per level, columns (others, churners)."""
    return np.bincount(codes * 2 + y, minlength=2 * levels).reshape(levels, 2)


def _is_exact(counts: np.ndarray, n_rows: int) -> bool:
    """Return whether every level holds one class only (few levels, each with rows to say so)."""
    if len(counts) < 2 or (len(counts) > 2 and len(counts) > n_rows // 10):
        return False
    return bool((counts.min(axis=1) == 0).all())


def _missingness_finding(name: str, missing: np.ndarray, y: np.ndarray) -> Finding | None:
    """Return a leak when whether the column is filled nearly determines the target."""
    if not 0 < missing.sum() < len(missing) or indicator_auc(missing, y) < LEAK_AUC:
        return None
    churn_share, other_share = _shares(~missing, y)
    return Finding(name, "missingness", indicator_auc(missing, y), None, churn_share, other_share)


def _value_finding(name: str, counts: np.ndarray | None, labels: list[str]) -> Finding | None:
    """Return a leak when one value of the column nearly determines the target."""
    if counts is None or len(counts) < 2:
        return None
    other_share = counts[:, 0] / max(int(counts[:, 0].sum()), 1)
    churn_share = counts[:, 1] / max(int(counts[:, 1].sum()), 1)
    auc = 0.5 * (1.0 + churn_share - other_share)
    auc = np.maximum(auc, 1.0 - auc)
    best = int(np.argmax(auc))
    if labels[best] == MISSING_KEY or auc[best] < LEAK_AUC:
        return None
    return Finding(
        name, "value", float(auc[best]), labels[best], float(churn_share[best]),
        float(other_share[best]),
    )  # fmt: skip


def _encoded_out_of_fold(codes: np.ndarray, levels: int, y: np.ndarray, seed: int) -> np.ndarray:
    """Return each row's churn rate of its category, learnt on the other rows (k folds)."""
    encoded = np.full(len(y), float(y.mean()))
    splits = KFold(n_splits=min(ENCODING_FOLDS, len(y)), shuffle=True, random_state=seed)
    for fit_rows, score_rows in splits.split(codes):
        rows = np.bincount(codes[fit_rows], minlength=levels)
        churners = np.bincount(codes[fit_rows], weights=y[fit_rows], minlength=levels)
        rate = np.divide(churners, rows, out=np.full(levels, y[fit_rows].mean()), where=rows > 0)
        encoded[score_rows] = rate[codes[score_rows]]
    return encoded


def combine(screenings: Sequence[Screening]) -> Screening:
    """Return one screening from several folds: each finding once, AUCs averaged, folds counted."""
    merged = Screening()
    for part in ("leaks", "vouched", "warnings"):
        groups: dict[tuple[str, str], list[Finding]] = {}
        for screening in screenings:
            for finding in getattr(screening, part):
                groups.setdefault((finding.column, finding.kind), []).append(finding)
        getattr(merged, part).extend(
            _mean_finding(found, len(screenings)) for found in groups.values()
        )
    leaked = {finding.column for finding in merged.leaks}
    merged.warnings = [f for f in merged.warnings if f.column not in leaked]
    return merged


def _mean_finding(found: list[Finding], of_folds: int) -> Finding:
    """Return the findings of one column and kind over folds as one (means of the figures)."""
    first = found[0]

    def mean(attribute: str) -> float | None:
        values = [getattr(f, attribute) for f in found if getattr(f, attribute) is not None]
        return float(np.mean(values)) if values else None

    return Finding(
        first.column, first.kind, mean("auc"), first.level, mean("churn_share"),
        mean("other_share"), first.levels, folds=len(found), of_folds=of_folds,
    )  # fmt: skip


def screen_snapshots(
    frame: pd.DataFrame, training_days: Iterable[date]
) -> tuple[pd.DataFrame, Screening]:
    """Return the labelled snapshots less the account attributes that leak the label.

    Attributes are an account's current values, not as of the snapshot: one written at
    cancellation (a reason, a status) travels back in time. They are screened on the training
    days' rows only, per row and per account (an account is a churner if it churned on any
    training day), and a leak found either way is dropped from every row.
    """
    attributes = [c for c in frame.columns if c.startswith(ATTRIBUTE_PREFIX)]
    rows = frame[frame["as_of"].isin(set(training_days))]
    if not attributes or rows.empty:
        return frame, Screening()
    per_row = screen(rows[attributes], rows["churned"].fillna(0).to_numpy(dtype=int))
    accounts = rows.groupby("account_id", sort=False)
    labels = accounts["churned"].max().fillna(0).to_numpy(dtype=int)
    found = _union(per_row, screen(accounts[attributes].last(), labels))
    return frame.drop(columns=found.dropped), found


def card_fields(screening: Screening) -> dict[str, list[Any]]:
    """Return what a model card records of the checks: leaks dropped and warnings."""
    return {
        "leaks": [
            {"column": f.column, "reason": f.reason, "evidence": f.message()}
            for f in screening.leaks
        ],
        "leak_warnings": [f.message() for f in screening.warnings],
    }


def _union(first: Screening, second: Screening) -> Screening:
    """Return both screenings' findings, each column's leak once (the first one found)."""
    leaks = {f.column: f for f in [*second.leaks, *first.leaks]}
    warnings = {(f.column, f.kind): f for f in [*second.warnings, *first.warnings]}
    return Screening(
        leaks=list(leaks.values()),
        warnings=[f for f in warnings.values() if f.column not in leaks],
    )
