"""Analyse a simulated book's randomized treatment and set the estimate beside the known truth.

The simulator writes, per eligible account, its arm, the day it was first under the experiment
(`exposed_on`) and its exact 90-day churn probability from then in every arm. Once the book
is imported, exposures are those days at 00:00 UTC, the warehouse computes the metrics
(`variant_summaries`) and the engine compares every arm with `control`. The truth of a churn
metric is the mean exact probability over the same units, in each arm counterfactually, so
"true lift" = mean p(arm) / mean p(control) − 1 is the estimand of the estimated lift.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from tenure.accounts.models import Account
from tenure.config import Settings
from tenure.errors import InputError
from tenure.experiments.definitions import (
    load_definitions,
    select_definitions,
)
from tenure.experiments.engine import analyze_experiment
from tenure.experiments.schemas import ExperimentResult, MetricSummary
from tenure.experiments.summaries import warehouse_summaries
from tenure.experiments.warehouse import cutoff_of

CONTROL = "control"
DEFAULT_METRICS = ("churn_90d", "events_30d", "tickets_30d")


@dataclass(frozen=True)
class ArmTruth:
    """One arm's churn_90d: the estimate, its interval, and the simulated truth beside them."""

    arm: str
    units: int
    observed_rate: float
    true_rate: float
    true_lift: float | None
    lift: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def covered(self) -> bool | None:
        """Return True when the true lift lies in the estimate's interval (None on control)."""
        if self.true_lift is None or self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_low <= self.true_lift <= self.ci_high


@dataclass(frozen=True)
class SimulatedReport:
    """The engine's result on a simulated book and the truth of its churn metric per arm."""

    as_of: date
    result: ExperimentResult
    summaries: dict[str, dict[str, MetricSummary]]
    churn: list[ArmTruth]
    manifest_truth: dict[str, object]


def read_book_truth(book_dir: Path) -> tuple[pd.DataFrame, dict[str, object]]:
    """Return assignments.csv (exposed accounts only) and the manifest's treatment section."""
    manifest_path, assignments = book_dir / "manifest.json", book_dir / "assignments.csv"
    if not manifest_path.exists() or not assignments.exists():
        raise InputError(f"{book_dir}: no manifest.json and assignments.csv; simulate a treatment")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    frame = pd.read_csv(assignments, dtype={"account_id": str, "group": str})
    if "exposed_on" not in frame:
        raise InputError(f"{assignments}: written by an older simulator; simulate the book again")
    frame = frame[frame["exposed_on"].notna()].copy()
    frame["first_exposed_at"] = pd.to_datetime(frame["exposed_on"])
    return frame, manifest | {"treatment": manifest.get("treatment") or {}}


def exposures_frame(engine: Engine, assignments: pd.DataFrame) -> pd.DataFrame:
    """Return unit_id (app account id), variant, first_exposed_at of the imported accounts."""
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Account.external_id, Account.id)).all())
    units = assignments.assign(unit_id=assignments["account_id"].map(ids))
    if units["unit_id"].isna().all():
        raise InputError("none of the book's accounts is imported; run `tenure import simulated`")
    units = units[units["unit_id"].notna()]
    return pd.DataFrame(
        {
            "unit_id": units["unit_id"].astype("int64"),
            "variant": units["group"],
            "first_exposed_at": units["first_exposed_at"],
        }
    )


def churn_truth(
    assignments: pd.DataFrame, result: ExperimentResult, metric: str, as_of: date, window: int
) -> list[ArmTruth]:
    """Return per arm the estimate of a churn metric beside the mean exact probabilities."""
    complete = assignments[
        assignments["first_exposed_at"] + timedelta(days=window) <= cutoff_of(as_of)
    ]
    control_p = complete[f"p_churn_90_{CONTROL}"].mean()
    found = next(m for m in result.metrics if m.metric == metric)
    rows = []
    for v in found.variants:
        own = complete[complete["group"] == v.variant]
        arm_p = complete[f"p_churn_90_{v.variant}"].mean()
        rows.append(
            ArmTruth(
                arm=v.variant,
                units=v.n,
                observed_rate=v.mean,
                true_rate=float(own[f"p_churn_90_{v.variant}"].mean()),
                true_lift=None if v.variant == CONTROL else float(arm_p / control_p - 1.0),
                lift=v.lift,
                ci_low=v.lift_ci_low,
                ci_high=v.lift_ci_high,
            )
        )
    return rows


def exposed_counts(exposures: pd.DataFrame, as_of: date) -> dict[str, int]:
    """Return units exposed before the cutoff per variant (the SRM check's counts)."""
    seen = exposures[exposures["first_exposed_at"] < cutoff_of(as_of)]
    return {str(k): int(v) for k, v in seen["variant"].value_counts().items()}


def arm_weights(
    treatment: dict[str, object], present: dict[str, MetricSummary]
) -> dict[str, float] | None:
    """Return the designed share of each arm (for the SRM check), or None if unknown."""
    arms = treatment.get("arms")
    if not isinstance(arms, list):
        return None
    shares = {str(a["arm"]): float(a["fraction"]) for a in arms if isinstance(a, dict)}
    return shares if set(present) <= set(shares) else None


def simulated_report(
    book_dir: Path,
    settings: Settings,
    engine: Engine,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    as_of: date | None = None,
    metrics_file: Path | None = None,
) -> SimulatedReport:
    """Analyse the imported simulated book's experiment and set churn_90d beside its truth."""
    assignments, manifest = read_book_truth(book_dir)
    wanted = list(dict.fromkeys(["churn_90d", *metrics]))
    definitions = select_definitions(load_definitions(metrics_file), wanted)
    day = as_of or date.fromisoformat(str(manifest["end"])) - timedelta(days=1)
    exposures = exposures_frame(engine, assignments)
    summaries = warehouse_summaries(settings, engine, exposures, definitions, day)
    if CONTROL not in summaries["churn_90d"] or summaries["churn_90d"][CONTROL].n == 0:
        raise InputError(f"no control unit has a complete 90-day window by {day}")
    result = analyze_experiment(
        summaries,
        {d.name: d.kind for d in definitions},
        CONTROL,
        counts=exposed_counts(exposures, day),
        weights=arm_weights(manifest["treatment"], summaries["churn_90d"]),
        guardrails=[d.name for d in definitions if d.guardrail],
        lower_is_better=[d.name for d in definitions if not d.higher_is_better],
    )
    churn = churn_truth(assignments, result, "churn_90d", day, 90)
    return SimulatedReport(day, result, summaries, churn, dict(manifest["treatment"]))
