"""The pipeline's experiments stage: each experiment's metric summaries from its exposures.

For every running or stopped account experiment with metrics, the stage reads the first
exposures (mapped from account external ids to app-DB ids), has the warehouse compute each
metric's per-variant sufficient statistics over the exposure windows
(`tenure.experiments.summaries.warehouse_summaries`) and stores them as of the day in
`experiment_metric_summary`, where results, the API and the dashboard read them.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.db.session import session_scope
from tenure.experiments.models import Experiment, ExperimentExposure
from tenure.experiments.results import store_summaries
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog


def _cutoff(context: StageContext) -> datetime:
    """Return the first instant after the as-of day (aware UTC)."""
    return datetime.combine(context.as_of + timedelta(days=1), time(), tzinfo=UTC)


def experiments_to_summarise(db_session: Session, cutoff: datetime) -> list[Experiment]:
    """Return the started account experiments that name metrics, oldest first."""
    query = (
        select(Experiment)
        .where(Experiment.status.in_(("running", "stopped")), Experiment.started_at < cutoff)
        .order_by(Experiment.id)
    )
    return [e for e in db_session.scalars(query) if e.metrics or e.guardrails]


def exposures_frame(db_session: Session, experiment: Experiment, cutoff: datetime) -> Any:
    """Return the experiment's exposed known accounts before cutoff (app ids, naive UTC times)."""
    import pandas as pd

    query = (
        select(Account.id, ExperimentExposure.variant, ExperimentExposure.first_exposed_at)
        .join(Account, Account.external_id == ExperimentExposure.unit_id)
        .where(
            ExperimentExposure.experiment_id == experiment.id,
            ExperimentExposure.first_exposed_at < cutoff,
        )
        .order_by(Account.id)
    )
    rows = [(i, v, at.replace(tzinfo=None)) for i, v, at in db_session.execute(query)]
    return pd.DataFrame(rows, columns=["unit_id", "variant", "first_exposed_at"])


def _definitions_of(experiment: Experiment, known: dict[str, Any]) -> tuple[list, list[str]]:
    """Return the experiment's known metric definitions and the names no definition has."""
    names = list(dict.fromkeys([*experiment.metrics, *experiment.guardrails]))
    return [known[n] for n in names if n in known], [n for n in names if n not in known]


def summarise_experiment(
    context: StageContext, db_session: Session, experiment: Experiment, known: dict[str, Any]
) -> dict[str, Any]:
    """Compute and store one experiment's summaries for the day; return what happened."""
    from tenure.experiments.summaries import warehouse_summaries

    if experiment.unit != "account":
        return {"skipped": "contact units: the warehouse metrics are per account"}
    definitions, unknown = _definitions_of(experiment, known)
    frame = exposures_frame(db_session, experiment, _cutoff(context))
    if not definitions or frame.empty:
        return {"skipped": "no exposures yet" if definitions else "no known metric",
                "unknown_metrics": unknown}  # fmt: skip
    summaries = warehouse_summaries(
        context.settings, context.engine, frame, definitions, context.as_of
    )
    rows = store_summaries(
        db_session=db_session, experiment=experiment, as_of=context.as_of, summaries=summaries,
        kinds={d.name: d.kind for d in definitions},
        lower_is_better=frozenset(d.name for d in definitions if not d.higher_is_better),
    )  # fmt: skip
    return {"units": len(frame), "rows": rows, "unknown_metrics": unknown}


@stage(
    "experiments",
    reads=(
        catalog.EXPERIMENTS,
        catalog.EXPERIMENT_EXPOSURES,
        catalog.ACCOUNTS,
        catalog.SUBSCRIPTIONS,
        catalog.TICKETS,
        catalog.WAREHOUSE_EVENTS,
    ),
    writes=(catalog.EXPERIMENT_METRIC_SUMMARIES,),
)
def experiment_summaries(context: StageContext) -> StageSummary:
    """Store each experiment's per-variant metric summaries as of the day."""
    from tenure.experiments.definitions import load_definitions

    known = {d.name: d for d in load_definitions(context.settings.experiment_metrics_file)}
    done: dict[str, Any] = {}
    with session_scope(context.engine) as db_session:
        for experiment in experiments_to_summarise(db_session, _cutoff(context)):
            done[experiment.key] = summarise_experiment(context, db_session, experiment, known)
    return {"experiments": len(done), "results": done}
