"""Experiment fixtures: a migrated app DB session and a running two-arm experiment factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.db.session import session_scope
from tenure.experiments import service
from tenure.experiments.models import Experiment
from tenure.experiments.specs import ExperimentSpec


@pytest.fixture
def db(engine: sa.Engine) -> Iterator[Session]:
    """Yield a session on a fresh migrated SQLite app DB (committed at the end)."""
    with session_scope(engine) as session:
        yield session


def make_spec(key: str = "trial-nudge", **fields: Any) -> ExperimentSpec:
    """Return a two-arm 50/50 experiment spec on accounts."""
    values: dict[str, Any] = {
        "key": key,
        "name": "Trial nudge email",
        "variants": [{"key": "control", "weight": 1}, {"key": "nudge", "weight": 1}],
        "metrics": ["retained_90d"],
    }
    return ExperimentSpec.model_validate(values | fields)


@pytest.fixture
def running(db: Session) -> Callable[..., Experiment]:
    """Return a function creating and starting an experiment."""

    def make(key: str = "trial-nudge", **fields: Any) -> Experiment:
        service.create_experiment(db_session=db, spec=make_spec(key, **fields), by="cs@example.com")
        return service.start_experiment(db_session=db, key=key)

    return make


@pytest.fixture
def spec() -> Callable[..., ExperimentSpec]:
    """Return the function building a two-arm 50/50 spec."""
    return make_spec
