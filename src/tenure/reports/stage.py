"""The pipeline's risks stage: bring the risk register up to date for the day."""

from __future__ import annotations

from tenure.db.session import session_scope
from tenure.reports.risks import evaluate_risks
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog


@stage(
    "risks",
    reads=(
        *catalog.ACCOUNT_RECORDS,
        catalog.CHURN_SCORES,
        catalog.CHURN_MODEL,
        catalog.IMPORT_RUNS,
        catalog.EXPERIMENTS,
        catalog.EXPERIMENT_EXPOSURES,
        catalog.PLAYS,
        catalog.PLAY_RUNS,
        catalog.CSM_TASKS,
        catalog.MESSAGES,
    ),
    writes=(catalog.RISKS,),
)
def risk_register(context: StageContext) -> StageSummary:
    """Open, update and close account and programme risks as of the day."""
    with session_scope(context.engine) as session:
        return evaluate_risks(session, context.settings, context.as_of)
