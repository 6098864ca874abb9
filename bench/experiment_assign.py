"""Benchmark experiment assignment (pure hashing, and assign calls on the app DB), as JSON.

Usage: nice -n 10 .venv/bin/python bench/experiment_assign.py [--ids 200000] [--calls 2000]
       [--database-url URL]

- hashing: the whole pure decision per unit (global holdout, layer and variant: three SHA-256
  buckets and the cumulative weights) for --ids ids, against a baseline of one bare
  `hashlib.sha256` per id in the same run; ratio = decision time / baseline time (≈ 3 + the
  Python around it).
- first assign: `service.assign(..., expose=True)` for --calls new accounts, each in its own
  committed session as a request is (eligibility, sticky lookup, insert-if-absent of the
  assignment and of the exposure), against a baseline of the same number of one-row ORM inserts
  into `experiment_assignment`, each committed; ratio = assign / baseline.
- repeat assign: the same calls again (the sticky path: one lookup, nothing written, the
  exposure kept), against a baseline of as many one-row primary-key SELECTs, each in its own
  session; ratio = repeat / baseline.
The run fails unless the repeat answers equal the first ones and the tables hold one row per
entered unit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tenure import clock
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.experiments import service
from tenure.experiments.assignment import Variant, in_holdout, in_layer, variant_of
from tenure.experiments.models import Experiment, ExperimentAssignment, ExperimentExposure
from tenure.experiments.specs import ExperimentSpec

ARMS = [Variant("control", 1), Variant("nudge", 1)]


def _seconds(work: Any) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bench_hashing(ids: list[str]) -> dict[str, float]:
    """Time the pure decision per id against one bare SHA-256 per id."""

    def decide() -> None:
        for unit in ids:
            if not in_holdout(unit, 0.05) and in_layer("pricing", 0.0, 0.5, unit):
                variant_of("exp-salt", unit, ARMS)

    def baseline() -> None:
        for unit in ids:
            hashlib.sha256(f"exp-salt:{unit}".encode()).digest()

    base, took = _seconds(baseline), _seconds(decide)
    return {
        "ids": len(ids),
        "decision_us_per_id": took / len(ids) * 1e6,
        "baseline_us_per_id": base / len(ids) * 1e6,
        "ratio": took / base,
    }


def _experiment(engine: sa.Engine, key: str) -> int:
    spec = ExperimentSpec(key=key, name=key, variants=[{"key": "control", "weight": 1},
                                                       {"key": "nudge", "weight": 1}])  # fmt: skip
    with session_scope(engine) as session:
        experiment = service.create_experiment(db_session=session, spec=spec)
        service.start_experiment(db_session=session, key=key)
        return experiment.id


def _assign_all(engine: sa.Engine, settings: Settings, units: list[str]) -> list[str]:
    answers = []
    for unit in units:
        with session_scope(engine) as session:
            answer = service.assign(
                db_session=session, key="bench", unit_id=unit, settings=settings, expose=True
            )
            answers.append(answer.variant)
    return answers


def _baseline_inserts(engine: sa.Engine, experiment_id: int, units: list[str]) -> None:
    for unit in units:
        with session_scope(engine) as session:
            session.add(ExperimentAssignment(experiment_id=experiment_id, unit_id=unit,
                                             variant="control", assigned_at=clock.now()))  # fmt: skip


def _baseline_selects(engine: sa.Engine, experiment_id: int, units: list[str]) -> None:
    for unit in units:
        with session_scope(engine) as session:
            session.get(ExperimentAssignment, (experiment_id, unit))


def bench_calls(engine: sa.Engine, settings: Settings, calls: int) -> dict[str, Any]:
    """Time first and repeated assign calls against one-row inserts and selects."""
    units = [f"acct-{i}" for i in range(calls)]
    _experiment(engine, "bench")
    baseline_id = _experiment(engine, "baseline")
    insert_base = _seconds(lambda: _baseline_inserts(engine, baseline_id, units))
    answers: dict[str, list[str]] = {}
    first = _seconds(lambda: answers.setdefault("first", _assign_all(engine, settings, units)))
    select_base = _seconds(lambda: _baseline_selects(engine, baseline_id, units))
    repeat = _seconds(lambda: answers.setdefault("repeat", _assign_all(engine, settings, units)))
    _check(engine, answers)
    return {
        "calls": calls,
        "first_assign_us": first / calls * 1e6,
        "insert_baseline_us": insert_base / calls * 1e6,
        "first_vs_insert": first / insert_base,
        "repeat_assign_us": repeat / calls * 1e6,
        "select_baseline_us": select_base / calls * 1e6,
        "repeat_vs_select": repeat / select_base,
    }


def _check(engine: sa.Engine, answers: dict[str, list[str]]) -> None:
    if answers["first"] != answers["repeat"]:
        raise SystemExit("repeat assign answered differently")
    with session_scope(engine) as session:
        bench_id = session.scalar(sa.select(Experiment.id).where(Experiment.key == "bench"))
        for model in (ExperimentAssignment, ExperimentExposure):
            rows = session.scalar(
                sa.select(sa.func.count()).select_from(model).where(model.experiment_id == bench_id)
            )
            entered = len(answers["first"]) - _held_out(len(answers["first"]))
            if rows != entered:
                raise SystemExit(f"{model.__tablename__}: {rows} rows for {entered} entered units")


def _held_out(calls: int) -> int:
    return sum(in_holdout(f"acct-{i}", Settings().holdout_fraction) for i in range(calls))


def main() -> None:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--ids", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=args.database_url)
        engine = get_engine(settings)
        migrate(engine)
        result = {
            "backend": engine.dialect.name,
            "hashing": bench_hashing([f"acct-{i}" for i in range(args.ids)]),
            "assign": bench_calls(engine, settings, args.calls),
        }
        engine.dispose()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
