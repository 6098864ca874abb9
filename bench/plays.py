"""Benchmark plays: next best action for N at-risk accounts × 6 plays, and the closed-loop gates.

Prints one JSON object.

NBA (issue 21 §6): the plays' uplift models are fitted (not timed) on a simulated randomised
history; N at-risk accounts are drawn from its feature rows (with replacement). The timed part
is what the loop does on a decision day: predict every play's uplift, lay out the
(account × play) candidates with costs, and `recommend` under a binding budget (priced budget,
one play per account, holdout drawn first). It is timed with the loop's pooled model (`nba`) and
with the shared-control T-learner (`nba_shared_control`: the control model, then one model per
play boosted from its log-odds, 7 XGBoost boosters). The baseline in the same run is a bare
XGBoost `inplace_predict` of those 7 boosters on the same matrix. `nba_over_bare_predict` is
the ratio of the medians over `--rounds` (target ≤ 2).

Gates (§5) at full size unless `--skip-gates`: a randomised history of `--history-accounts`
over `--history-months` (loop_gates.HISTORY) trains the pooled model; a fresh randomised trial
of `--gate-accounts` (another seed, never used to tune the model) gives realised
and true Qini (see tenure.simulate.loop_gates) of the uplift, oracle and churn rankings;
the uplift, oracle and churn policies run on the same fresh book at the same budget and give
the expected MRR each kept; the measured effect per play is checked against the true mean.

The daily play stage against the health stage (the other §6 figure) is bench/play_stage.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tenure.plays.nba import candidate_frame, predict_uplift
from tenure.plays.recommend import Budget, draw_holdout, recommend, remaining_lifetime_months
from tenure.simulate import loop_gates as g
from tenure.simulate.loop_signals import FEATURES
from tenure.simulate.play_effects import DEFAULT_KINDS


def costs(mrr: np.ndarray) -> dict[str, np.ndarray]:
    """Return the candidates' cost matrices of the default play kinds."""
    hours = np.tile([k.csm_minutes / 60 for k in DEFAULT_KINDS], (len(mrr), 1))
    offer = np.outer(mrr, [k.offer_mrr_months for k in DEFAULT_KINDS])
    emails = np.array([k.emails for k in DEFAULT_KINDS], dtype=float)
    return {"cost": hours * 6000 + offer + emails, "csm_hours": hours, "offer_spend": offer}


def next_best_action(models: Any, x: np.ndarray, budget: Budget, rng) -> int:
    """Run one decision day for the accounts of x; return how many plays were chosen."""
    uplift = predict_uplift(models, x, len(g.NAMES))
    mrr = x[:, FEATURES.index("mrr")]
    lifetime = remaining_lifetime_months(x[:, FEATURES.index("churn_score")], 90)
    frame = candidate_frame(np.arange(len(x)), g.NAMES, uplift, mrr, lifetime, costs(mrr))
    frame["holdout"] = np.repeat(draw_holdout(len(x), 0.1, rng), len(g.NAMES))
    return len(recommend(frame, budget, rng))


def bare_predict(models: Any, x: np.ndarray) -> None:
    """Predict the same matrix with every booster, nothing else (the control's log-odds feed
    the plays' boosters, as in the model)."""
    margin = models.control_model_.get_booster().inplace_predict(x, predict_type="margin")
    for model in models.treated_models_:
        model.get_booster().inplace_predict(x, base_margin=margin)


def time_nba(
    models: Any, shared: Any, history_x: np.ndarray, accounts: int, rounds: int
) -> dict[str, Any]:
    """Return the NBA (pooled and shared-control models) and bare-predict medians, their ratios."""
    rng = np.random.default_rng(0)
    x = history_x[rng.integers(0, len(history_x), accounts)]
    budget = Budget(csm_hours=accounts * 0.02, offer_spend=accounts * 500.0)
    nba, nba_shared, bare, chosen = [], [], [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        bare_predict(shared, x)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        chosen = next_best_action(models, x, budget, rng)
        nba.append(time.perf_counter() - start)
        start = time.perf_counter()
        next_best_action(shared, x, budget, rng)
        nba_shared.append(time.perf_counter() - start)
    medians = {"nba_s": statistics.median(nba), "bare_predict_s": statistics.median(bare),
               "nba_shared_control_s": statistics.median(nba_shared)}  # fmt: skip
    return {"accounts": accounts, "plays": len(g.NAMES), "chosen": chosen, **medians,
            "nba_over_bare_predict": medians["nba_s"] / medians["bare_predict_s"],
            "nba_shared_control_over_bare_predict":
                medians["nba_shared_control_s"] / medians["bare_predict_s"]}  # fmt: skip


def gates(
    root: Path, history: Path, models: Any, shared: Any, accounts: int, months: int
) -> dict[str, Any]:
    """Return the Qini, policy and effect-coverage figures on a fresh book."""
    trial = g.run(root / "trial", accounts, months, 212, **g.TRIAL)
    qini = g.qini_figures(models, trial)
    coverage = g.effect_coverage(trial)
    policy = {"history": str(history), "holdout_share": 0.1, "at_risk_share": 0.15,
              "budget": {"csm_hours": accounts / 200, "offer_spend": accounts * 50.0}}  # fmt: skip
    figures = g.policy_figures(root / "policy", accounts, months, 213, **policy)
    return {
        "qini": qini,
        "qini_shared_control": g.qini_figures(shared, trial),
        "gate_qini_vs_oracle": qini["uplift_vs_oracle"] >= 0.8,
        "gate_qini_vs_churn": qini["uplift_vs_churn"] >= 2.0,
        "policy": figures,
        "gate_policy_vs_oracle": figures["uplift_vs_oracle_mrr_kept"] >= 0.9,
        "effects": coverage,
        "gate_effects_covered": sum(c["covered"] for c in coverage) >= 0.8 * len(coverage),
    }


def main() -> None:
    """Parse arguments, fit on a simulated history, time the NBA, run the gates, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--history-accounts", type=int, default=50_000)
    parser.add_argument("--gate-accounts", type=int, default=10_000)
    parser.add_argument("--history-months", type=int, default=g.HISTORY_MONTHS)
    parser.add_argument("--months", type=int, default=8)
    parser.add_argument("--skip-gates", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        rows = g.run(root / "history", args.history_accounts, args.history_months, 201,
                     **g.HISTORY)  # fmt: skip
        models, shared = g.fit_history(rows), g.fit_history(rows, learner="shared_control")
        result: dict[str, Any] = {"history_accounts": args.history_accounts,
                                  "history_runs": len(g.matured_runs(rows)),
                                  "setup_s": time.perf_counter() - start}  # fmt: skip
        x = g.matured_runs(rows)[list(FEATURES)].to_numpy(float)
        result["nba"] = time_nba(models, shared, x, args.accounts, args.rounds)
        if not args.skip_gates:
            history = root / "history" / "play_truth.parquet"
            result["gates"] = gates(root, history, models, shared, args.gate_accounts, args.months)
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
