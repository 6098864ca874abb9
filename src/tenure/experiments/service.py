"""Experiments in the app DB: define, start, stop, re-weight, assign and expose (no commit here)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.config import Settings
from tenure.db.bulk import dialect_insert
from tenure.errors import InputError, NotFound, StateConflict
from tenure.experiments.assignment import Variant, check_variants, in_layer, ranges_overlap
from tenure.experiments.assignment import variant_of as hashed_variant
from tenure.experiments.holdout import in_global_holdout
from tenure.experiments.models import Experiment, ExperimentAssignment, ExperimentExposure
from tenure.experiments.specs import AssignResult, ExperimentSpec
from tenure.segments.models import Segment, SegmentMembership


def variants_of(experiment: Experiment) -> list[Variant]:
    """Return an experiment's arms as assignment values."""
    return [Variant(v["key"], float(v["weight"])) for v in experiment.variants]


def get_experiment(*, db_session: Session, key: str) -> Experiment:
    """Return the experiment with key, or raise NotFound."""
    found = db_session.scalar(select(Experiment).where(Experiment.key == key))
    if found is None:
        raise NotFound(f"no experiment with key {key!r}")
    return found


def list_experiments(*, db_session: Session, status: str | None = None) -> list[Experiment]:
    """Return experiments, newest first, optionally of one status."""
    query = select(Experiment).order_by(Experiment.created_at.desc(), Experiment.id.desc())
    if status is not None:
        query = query.where(Experiment.status == status)
    return list(db_session.scalars(query))


def _check_layer(db_session: Session, spec: ExperimentSpec) -> None:
    """Refuse a layer range that overlaps a live experiment of the same layer."""
    if spec.layer is None:
        return
    live = select(Experiment).where(Experiment.layer == spec.layer, Experiment.status != "stopped")
    for other in db_session.scalars(live):
        if ranges_overlap((spec.layer_start, spec.layer_end), (other.layer_start, other.layer_end)):
            raise StateConflict(
                f"layer {spec.layer!r} range [{spec.layer_start}, {spec.layer_end}) overlaps"
                f" experiment {other.key!r} [{other.layer_start}, {other.layer_end})"
            )


def _check_targeting(db_session: Session, spec: ExperimentSpec) -> None:
    segment = spec.targeting.segment if spec.targeting else None
    if (
        segment is not None
        and db_session.scalar(select(Segment.id).where(Segment.name == segment)) is None
    ):
        raise NotFound(f"no segment named {segment!r}: targeting needs a stored segment")


def create_experiment(
    *, db_session: Session, spec: ExperimentSpec, by: str | None = None
) -> Experiment:
    """Create a draft experiment from spec (the first variant is the control unless named)."""
    if db_session.scalar(select(Experiment.id).where(Experiment.key == spec.key)) is not None:
        raise StateConflict(f"an experiment with key {spec.key!r} exists already")
    _check_layer(db_session, spec)
    _check_targeting(db_session, spec)
    experiment = Experiment(
        key=spec.key, name=spec.name, hypothesis=spec.hypothesis, status="draft",
        unit=spec.unit, salt=f"{spec.key}:{secrets.token_hex(8)}", layer=spec.layer,
        layer_start=spec.layer_start, layer_end=spec.layer_end,
        variants=[v.model_dump() for v in spec.variants],
        control=spec.control or spec.variants[0].key,
        targeting=spec.targeting.model_dump(exclude_none=True) if spec.targeting else None,
        metrics=list(spec.metrics), guardrails=list(spec.guardrails),
        target_units=spec.target_units, created_at=clock.now(), created_by=by,
    )  # fmt: skip
    db_session.add(experiment)
    db_session.flush()
    return experiment


def start_experiment(*, db_session: Session, key: str, at: datetime | None = None) -> Experiment:
    """Start a draft experiment now (or at a past time it really started, for loaded exposures)."""
    experiment = get_experiment(db_session=db_session, key=key)
    if experiment.status != "draft":
        raise StateConflict(f"experiment {key!r} is {experiment.status}; only a draft can start")
    now = clock.now()
    if at is not None and (at.tzinfo is None or at > now):
        raise InputError(f"--at {at.isoformat()}: give a past time with a time zone")
    experiment.status, experiment.started_at = "running", at or now
    return experiment


def load_exposures(
    *, db_session: Session, experiment: Experiment, exposures: list[tuple[str, str, datetime]]
) -> tuple[int, list[tuple[str, str]]]:
    """Record exposures made elsewhere (assignment and first exposure, each once).

    Return (exposures recorded, [(unit, reason)] refused because the unit is already assigned
    to another variant); units already exposed keep their first exposure.
    """
    if experiment.status == "draft":
        raise StateConflict(f"experiment {experiment.key!r} is a draft: start it first (--at)")
    sticky = dict(
        db_session.execute(
            select(ExperimentAssignment.unit_id, ExperimentAssignment.variant).where(
                ExperimentAssignment.experiment_id == experiment.id
            )
        ).all()
    )
    clash = [
        (u, f"already assigned to {sticky[u]!r}") for u, v, _ in exposures if sticky.get(u, v) != v
    ]
    rows = [(u, v, at) for u, v, at in exposures if sticky.get(u, v) == v]
    before = _exposed_count(db_session, experiment)
    for model, time_column in (
        (ExperimentAssignment, "assigned_at"),
        (ExperimentExposure, "first_exposed_at"),
    ):
        insert = dialect_insert(db_session, model).on_conflict_do_nothing(
            index_elements=["experiment_id", "unit_id"]
        )
        values = [
            {"experiment_id": experiment.id, "unit_id": u, "variant": v, time_column: at}
            for u, v, at in rows
        ]
        if values:
            db_session.execute(insert, values)
    return _exposed_count(db_session, experiment) - before, clash


def _exposed_count(db_session: Session, experiment: Experiment) -> int:
    return db_session.scalar(
        select(func.count()).where(ExperimentExposure.experiment_id == experiment.id)
    )


def stop_experiment(*, db_session: Session, key: str) -> Experiment:
    """Stop a running experiment: new calls get the control, recorded data stays for analysis."""
    experiment = get_experiment(db_session=db_session, key=key)
    if experiment.status != "running":
        raise StateConflict(f"experiment {key!r} is {experiment.status}; only a running one stops")
    experiment.status, experiment.stopped_at = "stopped", clock.now()
    return experiment


def reweight_experiment(*, db_session: Session, key: str, weights: dict[str, float]) -> Experiment:
    """Change variant weights; units already assigned keep their variant (sticky rows)."""
    experiment = get_experiment(db_session=db_session, key=key)
    if experiment.status == "stopped":
        raise StateConflict(f"experiment {key!r} is stopped; its weights are final")
    keys = [v["key"] for v in experiment.variants]
    if set(weights) != set(keys):
        raise InputError(f"give a weight for exactly the variants {keys}, got {sorted(weights)}")
    variants = [Variant(k, float(weights[k])) for k in keys]
    check_variants(variants)
    experiment.variants = [{"key": v.key, "weight": v.weight} for v in variants]
    return experiment


def _account_external_id(db_session: Session, experiment: Experiment, unit_id: str) -> str:
    """Return the account a unit belongs to (itself for account units)."""
    if experiment.unit == "account":
        return unit_id
    found = db_session.scalar(
        select(Account.external_id)
        .join(Contact, Contact.account_id == Account.id)
        .where(Contact.external_id == unit_id)
    )
    if found is None:
        raise NotFound(f"no contact with external id {unit_id!r}")
    return found


def _in_segment(db_session: Session, segment_name: str, account_external_id: str) -> bool:
    """Return whether the account is a member of the segment's latest stored run."""
    segment = db_session.scalar(select(Segment).where(Segment.name == segment_name))
    if segment is None:
        return False
    latest = db_session.scalar(
        select(func.max(SegmentMembership.as_of)).where(SegmentMembership.segment_id == segment.id)
    )
    member = (
        select(SegmentMembership.account_id)
        .join(Account, Account.id == SegmentMembership.account_id)
        .where(
            SegmentMembership.segment_id == segment.id,
            SegmentMembership.as_of == latest,
            Account.external_id == account_external_id,
        )
    )
    return latest is not None and db_session.scalar(member) is not None


def _exclusion(
    db_session: Session, experiment: Experiment, unit_id: str, settings: Settings
) -> str | None:
    """Return why a unit is outside the experiment (holdout first), or None if it is in."""
    account = _account_external_id(db_session, experiment, unit_id)
    if in_global_holdout(account, settings):
        return "holdout"
    targeting = experiment.targeting or {}
    if "units" in targeting and unit_id not in targeting["units"]:
        return "not_targeted"
    if "segment" in targeting and not _in_segment(db_session, targeting["segment"], account):
        return "not_targeted"
    if not in_layer(experiment.layer, experiment.layer_start, experiment.layer_end, unit_id):
        return "outside_layer"
    return None


def _sticky(db_session: Session, experiment: Experiment, unit_id: str) -> str | None:
    return db_session.scalar(
        select(ExperimentAssignment.variant).where(
            ExperimentAssignment.experiment_id == experiment.id,
            ExperimentAssignment.unit_id == unit_id,
        )
    )


def _record_assignment(db_session: Session, experiment: Experiment, unit_id: str) -> str:
    """Return the unit's sticky variant, inserting the hashed one if absent (race safe)."""
    recorded = _sticky(db_session, experiment, unit_id)
    if recorded is not None:
        return recorded
    variant = hashed_variant(experiment.salt, unit_id, variants_of(experiment))
    row = {"experiment_id": experiment.id, "unit_id": unit_id, "variant": variant}
    insert = dialect_insert(db_session, ExperimentAssignment).values(**row, assigned_at=clock.now())
    done = db_session.execute(
        insert.on_conflict_do_nothing(index_elements=["experiment_id", "unit_id"])
    )
    if done.rowcount == 1:
        return variant
    return _sticky(db_session, experiment, unit_id) or variant  # a concurrent call won


def _record_exposure(
    db_session: Session, experiment: Experiment, unit_id: str, variant: str, at: datetime
) -> datetime:
    """Record the unit's first exposure if it has none; return the first exposure time."""
    stored = _first_exposure(db_session, experiment, unit_id)
    if stored is not None:
        return stored  # nothing to write: repeated calls take no write lock
    row = {"experiment_id": experiment.id, "unit_id": unit_id, "variant": variant}
    insert = dialect_insert(db_session, ExperimentExposure).values(**row, first_exposed_at=at)
    done = db_session.execute(
        insert.on_conflict_do_nothing(index_elements=["experiment_id", "unit_id"])
    )
    if done.rowcount == 1:
        return at
    return _first_exposure(db_session, experiment, unit_id) or at  # a concurrent call won


def _first_exposure(db_session: Session, experiment: Experiment, unit_id: str) -> datetime | None:
    return db_session.scalar(
        select(ExperimentExposure.first_exposed_at).where(
            ExperimentExposure.experiment_id == experiment.id,
            ExperimentExposure.unit_id == unit_id,
        )
    )


def _exposure_time(experiment: Experiment, at: datetime | None, settings: Settings) -> datetime:
    """Return the exposure time to record: now by default, never before start or in the future."""
    now = clock.now()
    if at is None:
        return now
    if at.tzinfo is None:
        raise InputError("exposed_at needs a time zone (e.g. 2026-12-07T15:00:00Z)")
    if at > now + timedelta(seconds=settings.future_tolerance_seconds):
        raise InputError(f"exposed_at {at.isoformat()} is in the future")
    if experiment.started_at is not None and at < experiment.started_at:
        raise InputError(f"exposed_at {at.isoformat()} is before the experiment started")
    return at


def assign(
    *,
    db_session: Session,
    key: str,
    unit_id: str,
    settings: Settings,
    expose: bool = False,
    exposed_at: datetime | None = None,
) -> AssignResult:
    """Return the unit's variant (idempotent); with expose, also record its first exposure."""
    experiment = get_experiment(db_session=db_session, key=key)
    if experiment.status == "draft":
        raise StateConflict(f"experiment {key!r} is a draft: start it before assigning units")
    result = {"experiment": key, "unit_id": unit_id, "variant": experiment.control}
    reason = "stopped" if experiment.status == "stopped" else None
    reason = reason or _exclusion(db_session, experiment, unit_id, settings)
    if reason is not None:
        return AssignResult(**result, in_experiment=False, reason=reason)
    variant = _record_assignment(db_session, experiment, unit_id)
    first = None
    if expose:
        at = _exposure_time(experiment, exposed_at, settings)
        first = _record_exposure(db_session, experiment, unit_id, variant, at)
    result["variant"] = variant
    return AssignResult(**result, in_experiment=True, reason="assigned", first_exposed_at=first)


def variant_counts(*, db_session: Session, experiment: Experiment) -> dict[str, dict[str, int]]:
    """Return assigned and exposed units per variant (every variant listed, zeros included)."""
    counts = {v["key"]: {"assigned": 0, "exposed": 0} for v in experiment.variants}
    for label, model in (("assigned", ExperimentAssignment), ("exposed", ExperimentExposure)):
        query = (
            select(model.variant, func.count())
            .where(model.experiment_id == experiment.id)
            .group_by(model.variant)
        )
        for variant, n in db_session.execute(query):
            counts.setdefault(variant, {"assigned": 0, "exposed": 0})[label] = n
    return counts
