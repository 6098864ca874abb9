"""Each play's measured effect: treated vs holdout at the goal horizon, MRR kept, cost and ROI."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.schemas import Money
from tenure.accounts.service import mrr_in_force
from tenure.plays.models import Play, PlayRun
from tenure.reports.measured import arm_difference, lifetime_months, roi, unmeasured_reason


def close_runs(session: Session, money: Money, day: date) -> int:
    """Judge every run whose goal day has passed: MRR in force then, and whether it was kept."""
    due = list(
        session.scalars(
            sa.select(PlayRun).where(PlayRun.status == "active", PlayRun.goal_on <= day)
        )
    )
    by_day: dict[date, list[PlayRun]] = defaultdict(list)
    for run in due:
        by_day[run.goal_on].append(run)
    for goal_on, runs in by_day.items():
        mrr = mrr_in_force(db_session=session, day=goal_on, money=money,
                           account_ids=[r.account_id for r in runs])  # fmt: skip
        for run in runs:
            run.mrr_at_goal = mrr.get(run.account_id, 0)
            run.retained = run.mrr_at_goal > 0
            run.status, run.ended_on = "ended", goal_on
    session.flush()
    return len(due)


@dataclass
class PlayEffect:
    """The issue's report line for one play (money in reporting major units)."""

    play: str
    metric: str
    treated: int
    holdout: int
    treated_rate: float | None
    holdout_rate: float | None
    effect: float | None
    effect_ci_low: float | None
    effect_ci_high: float | None
    mrr_kept: float | None
    cost: float
    lifetime_months: float | None
    roi: float | None
    roi_ci_low: float | None
    roi_ci_high: float | None
    measured: bool
    base_mrr: float = 0.0
    mrr_kept_ci_low: float | None = None
    mrr_kept_ci_high: float | None = None
    reason: str | None = None  # why it is not measured

    def as_dict(self) -> dict[str, Any]:
        """Return the line as JSON-ready values."""
        return asdict(self)


def outcome(run: PlayRun, metric: str) -> float:
    """Return a run's outcome: retained (0/1) or the share of its starting MRR kept."""
    if metric == "retained":
        return 1.0 if run.retained else 0.0
    return min(2.0, (run.mrr_at_goal or 0) / run.mrr_at_start) if run.mrr_at_start else 0.0


def accounts(runs: list[PlayRun]) -> np.ndarray:
    """Return each run's account (the run's own negative number when it has none)."""
    return np.array([r.account_id if r.account_id is not None else -1 - i
                     for i, r in enumerate(runs)], dtype=np.int64)  # fmt: skip


def measure(play: Play, runs: list[PlayRun], money: Money) -> PlayEffect:
    """Compare treated and holdout runs that reached their goal day."""
    definition = play.definition
    metric, horizon = definition["goal"]["metric"], definition["goal"]["horizon_days"]
    arms = {
        arm: [r for r in runs if r.arm == arm and r.status == "ended"]
        for arm in ("treated", "holdout")
    }
    treated, holdout = arms["treated"], arms["holdout"]
    cost = money.major(sum(r.cost for r in treated))
    empty = PlayEffect(play.key, metric, len(treated), len(holdout), None, None, None, None, None,
                       None, cost, None, None, None, None, False)  # fmt: skip
    y_t = np.array([outcome(r, metric) for r in treated])
    y_h = np.array([outcome(r, metric) for r in holdout])
    ids = accounts(treated + holdout)
    diff = arm_difference(y_t, y_h, (ids[: len(treated)], ids[len(treated) :]))
    if diff is None:
        empty.reason = f"{unmeasured_reason(y_t, y_h)} at the goal day"
        return empty
    effect, low, high = diff.estimate, diff.ci_low, diff.ci_high
    base_mrr = money.major(sum(r.mrr_at_start for r in treated))
    retained_holdout = float(np.mean([1.0 if r.retained else 0.0 for r in holdout]))
    lifetime = lifetime_months(retained_holdout, horizon)
    return PlayEffect(
        play.key, metric, len(treated), len(holdout), float(y_t.mean()), float(y_h.mean()),
        effect, low, high, effect * base_mrr, cost, lifetime,
        roi(effect * base_mrr, lifetime, cost), roi(low * base_mrr, lifetime, cost),
        roi(high * base_mrr, lifetime, cost), True, base_mrr, low * base_mrr, high * base_mrr,
    )  # fmt: skip


def play_effects(session: Session, money: Money) -> list[PlayEffect]:
    """Return the measured effect of every play."""
    plays = list(session.scalars(sa.select(Play).order_by(Play.key)))
    runs: dict[int, list[PlayRun]] = defaultdict(list)
    for run in session.scalars(
        sa.select(PlayRun).where(PlayRun.play_id.in_([p.id for p in plays]))
    ):
        runs[run.play_id].append(run)
    return [measure(play, runs[play.id], money) for play in plays]
