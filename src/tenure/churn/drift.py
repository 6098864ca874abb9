"""Population stability index (PSI) between the training rows and a scored day.

PSI = Σ (current − reference) · ln(current / reference) over bins of the reference (deciles
for numbers, one bin for missing values, levels for categories); shares are floored at 1e-4.
Common reading: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 drifted.

The model as a whole is flagged when its score drifts, or when the drifted features together
carry at least a quarter of the model's importance (mean |SHAP| on the validation day). A
minor feature that shifts, such as days since the last event on a Monday, is listed but does
not flag the model on its own. Cards saved without importance weights flag on any feature.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tenure.config import Settings
from tenure.logging import get_logger

log = get_logger("churn.drift")

FLOOR = 1e-4
MODERATE, DRIFTED = 0.1, 0.25
IMPORTANCE_SHARE = 0.25  # drifted features carrying this much importance flag the model


def numeric_reference(values: pd.Series, bins: int = 10) -> dict[str, Any]:
    """Return decile edges of the non-missing values and the reference shares per bin."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(float)
    present = x[~np.isnan(x)]
    edges = (
        np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])) if len(present) else []
    )
    edges = [float(e) for e in edges]
    return {"kind": "numeric", "edges": edges, "shares": numeric_shares(x, edges)}


def numeric_shares(x: np.ndarray, edges: list[float]) -> list[float]:
    """Return the share of values per bin (right-closed bins on edges) plus a missing bin."""
    x = np.asarray(x, float)
    missing = np.isnan(x)
    index = np.searchsorted(np.asarray(edges), x[~missing], side="left")
    counts = np.bincount(index, minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, missing.sum())
    return (counts / max(len(x), 1)).tolist()


def categorical_reference(values: pd.Series) -> dict[str, Any]:
    """Return the share of each level (missing as "(missing)")."""
    shares = values.fillna("(missing)").astype(str).value_counts(normalize=True)
    return {"kind": "categorical", "shares": {str(k): float(v) for k, v in shares.items()}}


def psi(reference: list[float], current: list[float]) -> float:
    """Return the PSI of two share vectors over the same bins."""
    ref = np.maximum(np.asarray(reference, float), FLOOR)
    cur = np.maximum(np.asarray(current, float), FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def feature_psi(reference: dict[str, Any], values: pd.Series) -> float:
    """Return the PSI of a feature's values on the scored day against its reference."""
    if reference["kind"] == "numeric":
        x = pd.to_numeric(values, errors="coerce").to_numpy(float)
        return psi(reference["shares"], numeric_shares(x, reference["edges"]))
    levels = list(reference["shares"])
    current = values.fillna("(missing)").astype(str).value_counts(normalize=True)
    other = float(current[~current.index.isin(levels)].sum())
    return psi(
        [reference["shares"][k] for k in levels] + [0.0],
        [float(current.get(k, 0.0)) for k in levels] + [other],
    )


def build_references(
    frame: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> dict[str, Any]:
    """Return the reference bins of every model feature on the training rows."""
    refs = {name: numeric_reference(frame[name]) for name in numeric}
    refs.update({name: categorical_reference(frame[name]) for name in categorical})
    return refs


def status(value: float) -> str:
    """Return stable, moderate or drifted for a PSI value."""
    return "drifted" if value > DRIFTED else "moderate" if value > MODERATE else "stable"


def drift_report(
    references: dict[str, Any],
    score_reference: dict[str, Any],
    frame: pd.DataFrame,
    scores: np.ndarray,
    weights: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Return PSI per feature and for the score, worst first, and whether the model drifted."""
    rows = [
        {"feature": name, "psi": feature_psi(ref, frame[name]) if name in frame else float("nan")}
        for name, ref in references.items()
    ]
    rows = [dict(r, status=status(r["psi"])) for r in rows]
    rows.sort(key=lambda r: -r["psi"] if r["psi"] == r["psi"] else 0.0)
    score_psi = feature_psi(score_reference, pd.Series(scores))
    drifted = [r["feature"] for r in rows if r["status"] == "drifted"]
    share = sum(weights.get(name, 0.0) for name in drifted) if weights else None
    features_drifted = bool(drifted) if share is None else share >= IMPORTANCE_SHARE
    return {
        "score_psi": score_psi,
        "score_status": status(score_psi),
        "drifted": features_drifted or status(score_psi) == "drifted",
        "drifted_features": drifted,
        "drifted_importance_share": share,
        "features": rows,
    }


def importance_weights(importance: list[dict[str, float]]) -> dict[str, float]:
    """Return each feature's share of the model's total mean |SHAP| (shares sum to 1)."""
    total = sum(row["mean_abs_contribution"] for row in importance)
    if total <= 0:
        return {}
    return {row["feature"]: row["mean_abs_contribution"] / total for row in importance}


DRIFT_FILE = re.compile(r"drift-(\d{8})\.json")
REPORT_KEYS = ("score_psi", "score_status", "drifted", "drifted_features", "features")


def drift_files(settings: Settings) -> list[Path]:
    """Return the day drift reports the scoring stage kept in DATA_DIR/churn, oldest first."""
    folder = settings.data_dir / "churn"
    return sorted(path for path in folder.glob("drift-*.json") if drift_file_day(path))


def newest_drift_file(settings: Settings) -> Path | None:
    """Return the drift report of the latest scored day, or None before any scoring."""
    files = drift_files(settings)
    return files[-1] if files else None


def drift_file_day(path: Path) -> date | None:
    """Return the scored day a drift report's name carries (drift-YYYYMMDD.json), else None."""
    match = DRIFT_FILE.fullmatch(path.name)
    try:
        return datetime.strptime(match.group(1), "%Y%m%d").date() if match else None
    except ValueError:  # eight digits that are no date, e.g. drift-20251399.json
        return None


def read_drift(path: Path) -> dict[str, Any]:
    """Return one kept drift report, or raise ValueError saying why it cannot be used."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError covers bad JSON and bad UTF-8
        raise ValueError(f"drift report {path.name} is unreadable: {exc}") from exc
    if not isinstance(report, dict):
        raise ValueError(f"drift report {path.name} is not a JSON object")
    lacking = [key for key in REPORT_KEYS if key not in report]
    if lacking:
        raise ValueError(f"drift report {path.name} lacks {', '.join(lacking)}")
    if not isinstance(report["drifted_features"], list):
        raise ValueError(f"drift report {path.name} has no list of drifted features")
    rows = report["features"]
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and {"feature", "psi", "status"} <= set(r) for r in rows
    ):
        raise ValueError(f"drift report {path.name} has malformed feature rows")
    return report


def latest_drift(settings: Settings) -> dict[str, Any] | None:
    """Return the newest drift report, or None without one or when it cannot be read (logged)."""
    path = newest_drift_file(settings)
    return None if path is None else _readable(path)


def drift_for_version(settings: Settings, version: str) -> dict[str, Any] | None:
    """Return the newest readable drift report written while this model version scored."""
    for path in reversed(drift_files(settings)):
        report = _readable(path)
        if report is not None and str(report.get("model_version", version)) == version:
            return report
    return None


def _readable(path: Path) -> dict[str, Any] | None:
    """Return one drift report, or None (logged) when it cannot be read."""
    try:
        return read_drift(path)
    except ValueError as exc:
        log.warning("drift_report_unreadable", path=str(path), reason=str(exc))
        return None
