"""The closed loop's gates: uplift vs oracle vs churn Qini, policy vs oracle, measured vs true effect.

Shared by the tests (small books) and bench/plays.py (full size). Qini coefficients are given
twice: on the realised 0/1 outcomes of the randomised trial (`qini_*`, noisy on small books),
and on the true effects (`true_qini_*`): the Qini curve estimates, at each cut of the ranking,
the treated share times the summed effect of the accounts above the cut, so its expectation is
the cumulative true effect along the ranking. `true_qini_*` is that curve's area over the random
line, divided by the oracle's (the oracle ranks by the true effect, so it scores 1).
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
from tenure.simulate.loop import learner_options
from tenure.simulate.loop_report import measured_effect
from tenure.simulate.loop_signals import FEATURES
from tenure.simulate.play_effects import DEFAULT_KINDS
from tenure.simulate.policy import LoopPolicy
from tenure.simulate.simulator import simulate

END = date(2025, 3, 31)
NAMES = [k.name for k in DEFAULT_KINDS]
TRIAL = {"ranking": "random", "holdout_share": 0.5, "at_risk_share": 0.15}
# The history that trains the models: random plays over 14 months (more decision days per
# account simulated), a fifth held out (the churn score gives the no-play baseline; the
# holdout only recalibrates it), so most runs teach a play's effect.
HISTORY = {"ranking": "random", "holdout_share": 0.2, "at_risk_share": 0.15}
HISTORY_MONTHS = 14


def run(out: Path, accounts: int, months: int, seed: int, **policy: Any) -> pd.DataFrame:
    """Simulate a book under a policy; return its play_truth rows and keep loop.json in out."""
    config = SimulationConfig(accounts=accounts, months=months, seed=seed, end=END,
                              policy=LoopPolicy(**policy))  # fmt: skip
    simulate(config, out)
    return pd.read_parquet(out / "play_truth.parquet")


def matured_runs(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the treated and holdout rows whose outcome is known."""
    return rows[rows["retained"].notna() & (rows["treated"] | rows["held_out"])]


def fit_history(history: pd.DataFrame, seed: int = 0, learner: str = "pooled") -> Any:
    """Fit the plays' uplift models on a history of runs (treated vs holdout)."""
    runs = matured_runs(history)
    index = {name: i for i, name in enumerate(NAMES)}
    play = np.where(runs["held_out"], HOLDOUT, runs["play"].map(index)).astype(int)
    x = runs[list(FEATURES)].to_numpy(float)
    y = runs["retained"].to_numpy(float)
    return fit_play_models(x, y, play, len(NAMES), 30, seed, learner_options(learner))


def true_qini_area(effect: np.ndarray, score: np.ndarray) -> float:
    """Return the area between the cumulative true effect along a ranking and the random line."""
    order = np.argsort(-score, kind="mergesort")
    curve = np.r_[0.0, np.cumsum(effect[order])]
    x = np.arange(len(curve), dtype=float)
    return float(np.trapezoid(curve - x / x[-1] * curve[-1], x))


def qini_figures(models: Any, trial: pd.DataFrame) -> dict[str, float]:
    """Return realised and true Qini of the model, oracle and churn rankings on a trial.

    Each chosen row (treated, or held out from the play chosen for it) is scored for its play.
    """
    rows = trial[trial["retained"].notna() & trial["chosen"]]
    pick = rows["play"].map({n: i for i, n in enumerate(NAMES)}).to_numpy()
    at = np.arange(len(rows))
    truth = rows[[f"true_effect_{n}" for n in NAMES]].to_numpy()[at, pick]
    model = predict_uplift(models, rows[list(FEATURES)].to_numpy(float), len(NAMES))[at, pick]
    churn = rows["churn_score"].to_numpy(float)
    treated = rows["treated"].to_numpy(bool)
    oracle_area = true_qini_area(truth, truth)
    out: dict[str, float] = {"rows": float(len(rows))}
    for name, score in (("uplift", model), ("oracle", truth), ("churn", churn)):
        out[f"qini_{name}"] = um.qini_coefficient(rows["retained"], treated, score)
        out[f"true_qini_{name}"] = true_qini_area(truth, score) / oracle_area
    out["uplift_vs_oracle"] = out["true_qini_uplift"]
    out["uplift_vs_churn"] = out["true_qini_uplift"] / out["true_qini_churn"]
    return out


def effect_coverage(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Return per play: true average effect, measured effect and interval (treated vs holdout)."""
    out = []
    for play in NAMES:
        mine = rows[(rows["play"] == play) & rows["retained"].notna()]
        treated = mine["treated"].to_numpy(bool)
        if min(treated.sum(), (~treated).sum()) < 30:
            continue
        effect, low, high = measured_effect(mine)
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
    figures["churn_vs_oracle_mrr_kept"] = (
        figures["churn"]["expected_mrr_kept"] / oracle["expected_mrr_kept"]
    )
    figures["uplift_vs_oracle_value"] = (
        figures["uplift"]["expected_value"] / oracle["expected_value"]
    )
    return figures
