"""An experiment's results: stored per-variant summaries and exposure counts through the engine."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.experiments import service
from tenure.experiments.engine import analyze_experiment
from tenure.experiments.models import Experiment, ExperimentMetricSummary
from tenure.experiments.schemas import Method, MetricKind, MetricSummary
from tenure.experiments.stats.srm import SRM_THRESHOLD, srm_p_value

STATS = tuple(f.name for f in dataclasses.fields(MetricSummary))
NO_SUMMARIES = (
    "no metric summaries yet: the pipeline's experiments stage computes them from exposures"
)


def store_summaries(
    *,
    db_session: Session,
    experiment: Experiment,
    as_of: date,
    summaries: dict[str, dict[str, MetricSummary]],
    kinds: dict[str, MetricKind],
    lower_is_better: frozenset[str] = frozenset(),
) -> int:
    """Replace the experiment's summaries of a day (what the pipeline stage writes); return rows."""
    db_session.execute(
        delete(ExperimentMetricSummary).where(
            ExperimentMetricSummary.experiment_id == experiment.id,
            ExperimentMetricSummary.as_of == as_of,
        )
    )
    now, rows = clock.now(), 0
    for metric, per_variant in summaries.items():
        for variant, summary in per_variant.items():
            db_session.add(
                ExperimentMetricSummary(
                    experiment_id=experiment.id, metric=metric, variant=variant, as_of=as_of,
                    kind=str(kinds[metric]), lower_is_better=metric in lower_is_better,
                    computed_at=now, **dataclasses.asdict(summary),
                )
            )  # fmt: skip
            rows += 1
    db_session.flush()
    return rows


def latest_summaries(
    *, db_session: Session, experiment: Experiment
) -> tuple[date | None, list[ExperimentMetricSummary]]:
    """Return the latest day with stored summaries and its rows (None, [] when there are none)."""
    as_of = db_session.scalar(
        select(func.max(ExperimentMetricSummary.as_of)).where(
            ExperimentMetricSummary.experiment_id == experiment.id
        )
    )
    if as_of is None:
        return None, []
    rows = db_session.scalars(
        select(ExperimentMetricSummary)
        .where(
            ExperimentMetricSummary.experiment_id == experiment.id,
            ExperimentMetricSummary.as_of == as_of,
        )
        .order_by(ExperimentMetricSummary.metric, ExperimentMetricSummary.variant)
    )
    return as_of, list(rows)


def _engine_inputs(experiment: Experiment, rows: list[ExperimentMetricSummary]) -> dict[str, Any]:
    """Return the engine's summaries, kinds and directions; absent variants count as empty."""
    summaries: dict[str, dict[str, MetricSummary]] = {}
    kinds: dict[str, MetricKind] = {}
    lower: set[str] = set()
    for row in rows:
        summaries.setdefault(row.metric, {})[row.variant] = MetricSummary(
            **{name: getattr(row, name) for name in STATS}
        )
        kinds[row.metric] = MetricKind(row.kind)
        if row.lower_is_better:
            lower.add(row.metric)
    for per_variant in summaries.values():
        for arm in experiment.variants:
            per_variant.setdefault(arm["key"], MetricSummary(n=0, sum=0.0, sum_squares=0.0))
    return {"summaries": summaries, "kinds": kinds, "lower_is_better": lower}


def progress_of(experiment: Experiment, exposed: int) -> float | None:
    """Return exposed units as a share of the planned sample size (None without a plan)."""
    if not experiment.target_units:
        return None
    return min(1.0, exposed / experiment.target_units)


def _jsonable(value: Any) -> Any:
    """Return dataclasses, enums and dates as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value.value if hasattr(value, "value") and not isinstance(value, int) else value


def describe(experiment: Experiment) -> dict[str, Any]:
    """Return an experiment's definition as plain values."""
    names = ("key", "name", "hypothesis", "status", "unit", "layer", "layer_start", "layer_end")
    names += ("variants", "control", "targeting", "metrics", "guardrails", "target_units")
    names += ("created_at", "created_by", "started_at", "stopped_at")
    described = {name: _jsonable(getattr(experiment, name)) for name in names}
    if described["targeting"] and "units" in described["targeting"]:
        described["targeting"] = {"units": len(described["targeting"]["units"])}
    return described


def _analysis(experiment: Experiment, rows: list, counts: dict, method: Method) -> dict[str, Any]:
    """Return the engine's result, or an SRM-only result before any summaries are stored."""
    exposed = {v: counts[v]["exposed"] for v in counts}
    weights = {v["key"]: float(v["weight"]) for v in experiment.variants}
    if not rows:
        order = list(weights)
        srm = srm_p_value([exposed.get(v, 0) for v in order], [weights[v] for v in order])
        return {"control": experiment.control, "srm_p_value": srm, "units": sum(exposed.values()),
                "metrics": [], "method": method.value, "decision": "keep_testing",
                "reasons": [NO_SUMMARIES], "winner": None}  # fmt: skip
    inputs = _engine_inputs(experiment, rows)
    result = analyze_experiment(
        inputs["summaries"], inputs["kinds"], experiment.control, counts=exposed,
        weights=weights, method=method, guardrails=experiment.guardrails,
        lower_is_better=inputs["lower_is_better"],
    )  # fmt: skip
    return _jsonable(result)


def experiment_results(
    *, db_session: Session, key: str, method: Method = Method.FREQUENTIST
) -> dict[str, Any]:
    """Return an experiment's definition, units per variant, progress, SRM and analysis."""
    experiment = service.get_experiment(db_session=db_session, key=key)
    counts = service.variant_counts(db_session=db_session, experiment=experiment)
    as_of, rows = latest_summaries(db_session=db_session, experiment=experiment)
    analysis = _analysis(experiment, rows, counts, method)
    exposed = sum(c["exposed"] for c in counts.values())
    return {
        "experiment": describe(experiment),
        "as_of": as_of.isoformat() if as_of else None,
        "units": counts,
        "exposed": exposed,
        "progress": progress_of(experiment, exposed),
        "srm_ok": analysis["srm_p_value"] >= SRM_THRESHOLD,
        "analysis": analysis,
    }
