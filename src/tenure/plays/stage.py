"""The pipeline's plays stage: judge runs that reached their goal, then run every active play."""

from __future__ import annotations

from tenure.accounts.schemas import Money
from tenure.db.session import session_scope
from tenure.plays import tasks
from tenure.plays.effect import close_runs
from tenure.plays.service import run_plays
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog


@stage(
    "plays",
    reads=(
        *catalog.ACCOUNT_RECORDS,
        catalog.HEALTH_SCORES,
        catalog.CHURN_SCORES,
        catalog.SEGMENT_MEMBERSHIPS,
        catalog.ALERTS,
        catalog.PLAYS,
    ),
    writes=(catalog.PLAY_RUNS, catalog.CSM_TASKS, catalog.ALERT_DELIVERIES),
)
def play_runs(context: StageContext) -> StageSummary:
    """Close runs past their goal day, wake snoozed tasks, run the active plays for the day."""
    with session_scope(context.engine) as session:
        closed = close_runs(session, Money.from_settings(context.settings), context.as_of)
        woken = tasks.wake_snoozed(session, context.as_of)
        days = run_plays(session, context.settings, context.as_of)
    entered = {d.play: {"treated": d.treated, "holdout": d.holdout} for d in days}
    return {"runs_closed": closed, "tasks_woken": woken, "entered": entered}
