"""What the closed loop did: play_truth.parquet (every decision row, true effects) and loop.json."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tenure.plays.uplift_metrics import average_effect
from tenure.reports.measured import arm_difference
from tenure.simulate.chain import STATES
from tenure.simulate.loop import PlayLoop, outcomes

MIN_PER_ARM = 5


def decision_rows(loop: PlayLoop, n_days: int) -> pd.DataFrame:
    """Return every at-risk row of every decision day with its outcome as of the window's end."""
    if not loop.decisions:
        return pd.DataFrame()
    return outcomes(loop, pd.concat(loop.decisions, ignore_index=True), n_days)


def chosen_truth(frame: pd.DataFrame) -> np.ndarray:
    """Return each row's true effect of the play chosen for it (NaN if none was)."""
    out = np.full(len(frame), np.nan)
    for play in frame["play"].dropna().unique():
        rows = (frame["play"] == play).to_numpy()
        out[rows] = frame.loc[rows, f"true_effect_{play}"].to_numpy(float)
    return out


def _rate(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def arm_figures(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, Any]:
    """Return count, retained share and MRR retention of matured rows."""
    known = frame[rows & frame["retained"].notna().to_numpy()]
    mrr = known["mrr"].to_numpy(float)
    kept = known["retained"].to_numpy(float)
    return {
        "rows": int(rows.sum()),
        "matured": len(known),
        "retained_rate": _rate(known["retained"]),
        "mrr_retention": float((mrr * kept).sum() / mrr.sum()) if mrr.sum() else None,
    }


def play_figures(frame: pd.DataFrame, play: str) -> dict[str, Any]:
    """Return one play's treated/holdout counts, true average effect and measured effect."""
    mine = frame[(frame["play"] == play).to_numpy()]
    known = mine[mine["retained"].notna()]
    treated = known["treated"].to_numpy(bool)
    truth = known[f"true_effect_{play}"].to_numpy(float)
    out: dict[str, Any] = {
        "treated": int(mine["treated"].sum()),
        "holdout": int(mine["held_out"].sum()),
        "matured_treated": int(treated.sum()),
        "matured_holdout": int((~treated).sum()),
        "true_effect": float(truth.mean()) if len(truth) else None,
        "effect": None,
        "effect_ci_low": None,
        "effect_ci_high": None,
    }
    if min(treated.sum(), (~treated).sum()) >= MIN_PER_ARM:
        effect, low, high = measured_effect(known)
        out.update(effect=effect, effect_ci_low=low, effect_ci_high=high)
    return out


def measured_effect(runs: pd.DataFrame) -> tuple[float, float, float]:
    """Return treated − holdout retention of a play's runs with its 95 % interval.

    Cluster-robust by account (an account comes back into later decisions), else Welch's.
    """
    y, treated = runs["retained"].to_numpy(float), runs["treated"].to_numpy(bool)
    account = runs["account"].to_numpy(np.int64)
    diff = arm_difference(y[treated], y[~treated], (account[treated], account[~treated]))
    if diff is not None:
        return diff.estimate, diff.ci_low, diff.ci_high
    with np.errstate(divide="ignore", invalid="ignore"):  # no churn in either arm: no spread
        return average_effect(y, treated)


def summary(loop: PlayLoop, frame: pd.DataFrame) -> dict[str, Any]:
    """Return loop.json: spend, expected MRR kept (from the truth), realised treated vs holdout."""
    if frame.empty:
        return {"ranking": loop.policy.ranking, "decision_days": 0}
    treated = frame["treated"].to_numpy(bool)
    truth = chosen_truth(frame)
    mrr = frame["mrr"].to_numpy(float)
    lifetime = np.minimum(120.0, frame["churn_score"].pipe(_lifetime).to_numpy())
    cost = frame["cost"].to_numpy(float, na_value=0.0)
    value = truth * mrr * lifetime - cost
    return {
        "ranking": loop.policy.ranking,
        "decision_days": int(frame["day"].nunique()),
        "at_risk_rows": len(frame),
        "treated": int(treated.sum()),
        "holdout": int(frame["held_out"].sum()),
        "csm_hours": float(frame.loc[treated, "csm_hours"].astype(float).sum()),
        "offer_spend": float(frame.loc[treated, "offer_spend"].astype(float).sum()),
        "cost": float(cost[treated].sum()),
        "expected_mrr_kept": float((truth * mrr)[treated].sum()),
        "expected_value": float(value[treated].sum()),
        "treated_arm": arm_figures(frame, treated),
        "holdout_arm": arm_figures(frame, frame["held_out"].to_numpy(bool)),
        "plays": {p: play_figures(frame, p) for p in loop.names},
        "money": "minor units of each account's currency; MRR kept is over the horizon",
    }


def _lifetime(score: pd.Series) -> pd.Series:
    from tenure.plays.recommend import remaining_lifetime_months

    return pd.Series(remaining_lifetime_months(score.to_numpy(float), 90), index=score.index)


def write_loop_outputs(
    out_dir: Path, loop: PlayLoop, ids: list[str], n_days: int
) -> tuple[dict[str, int], dict[str, Any]]:
    """Write play_truth.parquet and loop.json; return their row counts and the summary."""
    frame = decision_rows(loop, n_days)
    report = summary(loop, frame)
    if not frame.empty:
        start = loop.config.start
        frame.insert(0, "account_id", np.asarray(ids, dtype=object)[frame["account"]])
        frame.insert(1, "date", [start + timedelta(days=int(d)) for d in frame["day"]])
        frame["state"] = np.asarray(STATES, dtype=object)[frame["state"].to_numpy(int)]
        for column in ("estimated_uplift", "ev", "cost", "csm_hours", "offer_spend"):
            frame[column] = pd.to_numeric(frame[column])
    frame.to_parquet(out_dir / "play_truth.parquet", index=False)
    text = json.dumps({"policy": loop.policy.model_dump(), **report}, indent=2, default=str)
    (out_dir / "loop.json").write_text(text + "\n", encoding="utf-8")
    return {"play_truth.parquet": len(frame), "loop.json": 1}, report
