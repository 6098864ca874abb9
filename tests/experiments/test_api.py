"""The experiments API: assign by write key or manager token, exposures, results, errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.auth import service as auth
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.experiments import results, service
from tenure.experiments.holdout import in_global_holdout
from tenure.experiments.models import ExperimentAssignment, ExperimentExposure
from tenure.experiments.schemas import MetricKind, MetricSummary
from tenure.experiments.specs import ExperimentSpec

PASSWORD = "correct horse battery"
SPEC = {
    "key": "trial-nudge",
    "name": "Trial nudge",
    "variants": [{"key": "control", "weight": 1}, {"key": "nudge", "weight": 1}],
    "metrics": ["renewed"],
    "target_units": 40,
}


def _seed(settings: Settings) -> str:
    """Migrate, create a running experiment, a write key and a manager and csm; return the key."""
    engine = get_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        service.create_experiment(db_session=session, spec=ExperimentSpec.model_validate(SPEC))
        service.start_experiment(db_session=session, key="trial-nudge")
        _, write_key = auth.create_write_key(session, "web")
        auth.create_user(session, "manager@example.com", PASSWORD, "manager")
        auth.create_user(session, "csm@example.com", PASSWORD, "csm")
    engine.dispose()
    return write_key


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FastAPI, TestClient, tuple[str, str]]]:
    """Yield the API app, its client and a write key's basic auth."""
    settings = Settings(data_dir=tmp_path / "data", secret_key="k" * 48, secure_cookies=False)
    key = _seed(settings)
    app = create_app(settings, dashboard=False)
    with TestClient(app) as client:
        yield app, client, (key, "")
    app.state.engine.dispose()


def _token(client: TestClient, email: str) -> dict[str, str]:
    form = {"grant_type": "password", "username": email, "password": PASSWORD}
    token = client.post("/v1/auth/token", data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _units(count: int, settings: Settings | None = None) -> list[str]:
    settings = settings or Settings()
    return [u for u in (f"acct-{i}" for i in range(count * 2)) if not in_global_holdout(u, settings)][:count]  # fmt: skip


def test_assign_by_write_key_is_idempotent(served):
    app, client, key = served
    url = "/v1/experiments/trial-nudge/assign"
    unit = _units(1)[0]
    first = client.post(url, json={"unit_id": unit}, auth=key)
    again = client.post(url, json={"unit_id": unit}, auth=key)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert first.json()["in_experiment"] and first.json()["first_exposed_at"] is None
    with session_scope(app.state.engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ExperimentAssignment)) == 1
    assert client.post(url, json={"unit_id": unit}, auth=("wrong", "")).status_code == 401


def test_a_manager_may_assign_a_csm_may_not(served):
    _, client, _ = served
    url = "/v1/experiments/trial-nudge/assign"
    assert client.post(url, json={"unit_id": "u1"}, headers=_token(client, "manager@example.com")).status_code == 200  # fmt: skip
    refused = client.post(url, json={"unit_id": "u1"}, headers=_token(client, "csm@example.com"))
    assert refused.status_code == 403 and "experiments:assign" in refused.json()["detail"]
    assert client.post(url, json={"unit_id": "u1"}).status_code == 401


def test_bad_input_gets_4xx_problems(served):
    _, client, key = served
    assert client.post("/v1/experiments/nope/assign", json={"unit_id": "u"}, auth=key).status_code == 404  # fmt: skip
    for body in (
        {"unit_id": ""},
        {"unit_id": "x" * 129},
        {"unit": "u"},
        {"unit_id": "u", "extra": 1},
    ):
        response = client.post("/v1/experiments/trial-nudge/assign", json=body, auth=key)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    naive = {"unit_id": "u", "exposed_at": "2026-01-01T00:00:00"}
    assert client.post("/v1/experiments/trial-nudge/exposures", json=naive, auth=key).status_code == 400  # fmt: skip


def test_exposures_and_results(served):
    app, client, key = served
    units = _units(30)
    for unit in units:
        response = client.post(
            "/v1/experiments/trial-nudge/exposures", json={"unit_id": unit}, auth=key
        )
        assert response.status_code == 200 and response.json()["first_exposed_at"], response.text
    manager = _token(client, "manager@example.com")
    before = client.get("/v1/experiments/trial-nudge/results", headers=manager).json()
    assert before["exposed"] == 30 and before["progress"] == pytest.approx(30 / 40)
    assert (
        before["analysis"]["metrics"] == []
        and "no metric summaries" in before["analysis"]["reasons"][0]
    )
    summaries = {
        "renewed": {"control": MetricSummary(100, 80, 80), "nudge": MetricSummary(100, 90, 90)}
    }
    with session_scope(app.state.engine) as session:
        experiment = service.get_experiment(db_session=session, key="trial-nudge")
        results.store_summaries(db_session=session, experiment=experiment, as_of=date(2026, 12, 6),
                                summaries=summaries, kinds={"renewed": MetricKind.BINARY})  # fmt: skip
    after = client.get("/v1/experiments/trial-nudge/results", headers=manager).json()
    assert after["as_of"] == "2026-12-06"
    nudge = after["analysis"]["metrics"][0]["variants"][1]
    assert nudge["variant"] == "nudge" and nudge["lift"] == pytest.approx(0.125)  # 0.9 / 0.8 - 1
    assert nudge["lift_ci_low"] < 0.125 < nudge["lift_ci_high"]
    listed = client.get("/v1/experiments", headers=manager).json()
    assert [e["key"] for e in listed] == ["trial-nudge"]


@pytest.mark.postgres
def test_concurrent_assigns_of_one_unit_record_one_row(pg_url, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url, holdout_fraction=0.0)
    engine = get_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        service.create_experiment(db_session=session, spec=ExperimentSpec.model_validate(SPEC))
        service.start_experiment(db_session=session, key="trial-nudge")
    barrier, answers, errors = threading.Barrier(8), [], []

    def call() -> None:
        try:
            barrier.wait()
            with session_scope(engine) as session:
                answers.append(service.assign(db_session=session, key="trial-nudge",
                                              unit_id="acct-race", settings=settings, expose=True).variant)  # fmt: skip
        except Exception as exc:  # reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(answers) == 8 and len(set(answers)) == 1
    with session_scope(engine) as session:
        for model in (ExperimentAssignment, ExperimentExposure):
            assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 1
    engine.dispose()
