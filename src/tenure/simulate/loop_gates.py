"""The closed loop's gates: uplift vs oracle vs churn Qini, policy vs oracle, measured vs true effect.

Shared by the tests (small books) and bench/plays.py (full size). Qini coefficients are given
twice: on the realised 0/1 outcomes, and on the exact expected outcomes (1 − p_churn_90 for a
holdout row, plus the row's true effect for a treated one). The Qini curve is linear in the
outcomes for a fixed ranking and assignment, so the second is the first's expectation over the
outcome noise: what the ranking is worth, without the luck of who happened to churn.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tenure.plays import uplift_metrics as um
from tenure.plays.nba import HOLDOUT, fit_play_models, predict_uplift
from tenure.simulate.config import SimulationConfig
from tenure.simulate.loop_signals import FEATURES
from tenure.simulate.play_effects import DEFAULT_KINDS
from tenure.simulate.policy import LoopPolicy
from tenure.simulate.simulator import simulate

END = date(2025, 3, 31)
NAMES = [k.name for k in DEFAULT_KINDS]
TRIAL = {"ranking": "random", "holdout_share": 0.5, "at_risk_share": 0.15}


def run(out: Path, accounts: int, months: int, seed: int, **policy: Any) -> pd.DataFrame:
    """Simulate a book under a policy; return its play_truth rows and keep loop.json in out."""
    config = SimulationConfig(accounts=accounts, months=months, seed=seed, end=END,
                              policy=LoopPolicy(**policy))  # fmt: skip
    simulate(config, out)
    return pd.read_parquet(out / "play_truth.parquet")


def matured_runs(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the treated and holdout rows whose outcome is known."""
    return rows[rows["retained"].notna() & (rows["treated"] | rows["held_out"])]


def fit_history(history: pd.DataFrame, seed: int = 0) -> list:
    """Fit the per-play uplift models on a history of runs (treated vs holdout)."""
    runs = matured_runs(history)
    index = {name: i for i, name in enumerate(NAMES)}
    play = np.where(runs["held_out"], HOLDOUT, runs["play"].map(index)).astype(int)
    x = runs[list(FEATURES)].to_numpy(float)
    return fit_play_models(x, runs["retained"].to_numpy(float), play, len(NAMES), 30, seed)


def qini_figures(models: list, trial: pd.DataFrame) -> dict[str, float]:
    """Return realised and expected Qini of the model, oracle and churn rankings on a trial.

    Each chosen row (treated, or held out from the play chosen for it) is scored for its play.
    """
    rows = trial[trial["retained"].notna() & trial["chosen"]]
    pick = rows["play"].map({n: i for i, n in enumerate(NAMES)}).to_numpy()
    at = np.arange(len(rows))
    truth = rows[[f"true_effect_{n}" for n in NAMES]].to_numpy()[at, pick]
    model = predict_uplift(models, rows[list(FEATURES)].to_numpy(float))[at, pick]
    churn = rows["churn_score"].to_numpy(float)
    treated = rows["treated"].to_numpy(bool)
    expected = 1.0 - churn + np.where(treated, truth, 0.0)
    out: dict[str, float] = {"rows": float(len(rows))}
    for name, score in (("uplift", model), ("oracle", truth), ("churn", churn)):
        out[f"qini_{name}"] = um.qini_coefficient(rows["retained"], treated, score)
        out[f"expected_qini_{name}"] = um.qini_coefficient(expected, treated, score)
    out["expected_uplift_vs_oracle"] = out["expected_qini_uplift"] / out["expected_qini_oracle"]
    out["expected_uplift_vs_churn"] = out["expected_qini_uplift"] / out["expected_qini_churn"]
    return out


def effect_coverage(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Return per play: true average effect, measured effect and interval (treated vs holdout)."""
    out = []
    for play in NAMES:
        mine = rows[(rows["play"] == play) & rows["retained"].notna()]
        treated = mine["treated"].to_numpy(bool)
        if min(treated.sum(), (~treated).sum()) < 30:
            continue
        effect, low, high = um.average_effect(mine["retained"], treated)
        true = float(mine[f"true_effect_{play}"].mean())
        out.append({"play": play, "true": true, "effect": effect, "low": low, "high": high,
                    "covered": low <= true <= high})  # fmt: skip
    return out


def json_report(out: Path) -> dict[str, Any]:
    """Return the headline figures of a run's loop.json."""
    report = json.loads((out / "loop.json").read_text())
    keys = ("treated", "csm_hours", "offer_spend", "cost", "expected_mrr_kept", "expected_value")
    return {k: report[k] for k in keys}


def policy_figures(out: Path, accounts: int, months: int, seed: int, **policy: Any) -> dict:
    """Return loop.json figures of the uplift, oracle and churn policies on the same book."""
    figures = {}
    for ranking in ("uplift", "oracle", "churn"):
        run(out / ranking, accounts, months, seed, ranking=ranking, **policy)
        figures[ranking] = json_report(out / ranking)
    oracle = figures["oracle"]
    figures["uplift_vs_oracle_mrr_kept"] = (
        figures["uplift"]["expected_mrr_kept"] / oracle["expected_mrr_kept"]
    )
    figures["uplift_vs_oracle_value"] = (
        figures["uplift"]["expected_value"] / oracle["expected_value"]
    )
    return figures
