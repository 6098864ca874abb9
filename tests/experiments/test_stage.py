"""The pipeline's experiments stage: exposures to app ids, summaries stored, results read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tenure.db.session import session_scope
from tenure.experiments import results, service, summaries
from tenure.experiments.models import ExperimentExposure, ExperimentMetricSummary
from tenure.experiments.schemas import MetricSummary
from tenure.experiments.stage import experiment_summaries, exposures_frame
from tenure.stage import StageContext

from .. import factories

AS_OF = date(2025, 6, 30)
CUTOFF = datetime(2025, 7, 1, tzinfo=UTC)


def _expose(session, experiment, unit, variant, at):
    session.add(ExperimentExposure(experiment_id=experiment.id, unit_id=unit, variant=variant,
                                   first_exposed_at=at))  # fmt: skip


@pytest.fixture
def book(engine, spec, frozen_clock):
    """Two account experiments (one naming an unknown metric) and a contact one, with exposures."""
    with session_scope(engine) as session:
        accounts = [factories.add_account(session, f"stage-{i}") for i in range(4)]
        for key, fields in (
            ("churn-call", {"metrics": ["churn_90d", "no_such_metric"], "guardrails": ["tickets_30d"]}),
            ("contacts", {"unit": "contact", "metrics": ["churn_90d"]}),
        ):  # fmt: skip
            service.create_experiment(db_session=session, spec=spec(key, **fields))
            experiment = service.start_experiment(db_session=session, key=key)
        experiment = service.get_experiment(db_session=session, key="churn-call")
        early = datetime(2025, 5, 1, tzinfo=UTC)
        for i, account in enumerate(accounts[:3]):
            _expose(session, experiment, account.external_id, ("control", "nudge")[i % 2], early)
        _expose(session, experiment, "not-imported", "control", early)  # unknown account
        _expose(session, experiment, accounts[3].external_id, "nudge", CUTOFF + timedelta(hours=1))
        ids = [a.id for a in accounts]
    return ids


def test_exposures_frame_maps_external_ids_and_stops_at_the_cutoff(engine, book):
    with session_scope(engine) as session:
        experiment = service.get_experiment(db_session=session, key="churn-call")
        frame = exposures_frame(session, experiment, CUTOFF)
    assert frame["unit_id"].tolist() == book[:3]
    assert frame["variant"].tolist() == ["control", "nudge", "control"]
    assert frame["first_exposed_at"].iloc[0] == datetime(2025, 5, 1)  # naive UTC for DuckDB


def test_the_stage_stores_summaries_the_results_read(engine, settings, book, monkeypatch):
    calls = []

    def fake(settings_, engine_, frame, definitions, as_of):
        calls.append((sorted(frame["unit_id"]), [d.name for d in definitions], as_of))
        return {d.name: {"control": MetricSummary(2, 1, 1), "nudge": MetricSummary(1, 0, 0)}
                for d in definitions}  # fmt: skip

    monkeypatch.setattr(summaries, "warehouse_summaries", fake)
    summary = experiment_summaries(StageContext(settings=settings, engine=engine, as_of=AS_OF))
    assert calls == [(book[:3], ["churn_90d", "tickets_30d"], AS_OF)]
    done = summary["results"]
    assert done["churn-call"] == {"units": 3, "rows": 4, "unknown_metrics": ["no_such_metric"]}
    assert "contact units" in done["contacts"]["skipped"]
    with session_scope(engine) as session:
        stored = session.scalars(sa.select(ExperimentMetricSummary)).all()
        assert {(r.metric, r.kind, r.lower_is_better) for r in stored} == {
            ("churn_90d", "binary", True), ("tickets_30d", "mean", True),
        }  # fmt: skip
        report = results.experiment_results(db_session=session, key="churn-call")
    assert report["as_of"] == "2025-06-30"
    assert [m["metric"] for m in report["analysis"]["metrics"]] == ["churn_90d", "tickets_30d"]
    again = experiment_summaries(StageContext(settings=settings, engine=engine, as_of=AS_OF))
    assert again["results"]["churn-call"]["rows"] == 4  # re-running the day replaces its rows
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ExperimentMetricSummary)) == 4
