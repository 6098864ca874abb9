"""Experiments in the app DB: lifecycle, sticky idempotent assignment, exposures, eligibility."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tenure.config import Settings
from tenure.errors import InputError, NotFound, StateConflict
from tenure.experiments import service
from tenure.experiments.assignment import variant_of
from tenure.experiments.holdout import in_global_holdout
from tenure.experiments.models import ExperimentAssignment, ExperimentExposure
from tenure.segments.models import Segment, SegmentMembership

from .. import factories

SETTINGS = Settings(holdout_fraction=0.05)
UNITS = [f"acct-{i}" for i in range(240)]


def test_lifecycle_draft_running_stopped(db, spec):
    experiment = service.create_experiment(db_session=db, spec=spec(), by="cs@example.com")
    assert (experiment.status, experiment.control, experiment.created_by) == (
        "draft", "control", "cs@example.com",
    )  # fmt: skip
    with pytest.raises(StateConflict, match="draft"):
        service.assign(db_session=db, key="trial-nudge", unit_id="a", settings=SETTINGS)
    with pytest.raises(StateConflict):
        service.create_experiment(db_session=db, spec=spec())
    service.start_experiment(db_session=db, key="trial-nudge")
    with pytest.raises(StateConflict):
        service.start_experiment(db_session=db, key="trial-nudge")
    stopped = service.stop_experiment(db_session=db, key="trial-nudge")
    assert stopped.status == "stopped" and stopped.stopped_at >= stopped.started_at
    with pytest.raises(NotFound):
        service.get_experiment(db_session=db, key="nope")


def test_assign_is_idempotent_and_follows_the_hash(db, running):
    experiment = running()
    first = [service.assign(db_session=db, key=experiment.key, unit_id=u, settings=SETTINGS)
             for u in UNITS]  # fmt: skip
    again = [service.assign(db_session=db, key=experiment.key, unit_id=u, settings=SETTINGS)
             for u in UNITS]  # fmt: skip
    assert [r.variant for r in first] == [r.variant for r in again]
    entered = [r for r in first if r.in_experiment]
    assert db.scalar(sa.select(sa.func.count()).select_from(ExperimentAssignment)) == len(entered)
    arms = service.variants_of(experiment)
    assert all(r.variant == variant_of(experiment.salt, r.unit_id, arms) for r in entered)
    assert {r.variant for r in entered} == {"control", "nudge"}


def test_the_global_holdout_is_never_assigned(db, running):
    experiment = running()
    results = [service.assign(db_session=db, key=experiment.key, unit_id=u, settings=SETTINGS)
               for u in UNITS]  # fmt: skip
    held = [r for r in results if in_global_holdout(r.unit_id, SETTINGS)]
    assert held and all(r.reason == "holdout" and not r.in_experiment for r in held)
    assert all(r.variant == "control" for r in held)
    stored = set(db.scalars(sa.select(ExperimentAssignment.unit_id)))
    assert stored.isdisjoint(r.unit_id for r in held)


def test_reweighting_keeps_assigned_units_and_moves_new_ones(db, running):
    experiment = running()
    before = {u: service.assign(db_session=db, key=experiment.key, unit_id=u, settings=SETTINGS)
              for u in UNITS[:100]}  # fmt: skip
    service.reweight_experiment(
        db_session=db, key=experiment.key, weights={"control": 1, "nudge": 99}
    )
    for unit, result in before.items():
        again = service.assign(db_session=db, key=experiment.key, unit_id=unit, settings=SETTINGS)
        assert again.variant == result.variant
    newcomers = [service.assign(db_session=db, key=experiment.key, unit_id=u, settings=SETTINGS)
                 for u in UNITS[100:]]  # fmt: skip
    share = sum(r.variant == "nudge" for r in newcomers if r.in_experiment) / sum(
        r.in_experiment for r in newcomers
    )
    assert share > 0.95
    with pytest.raises(InputError):
        service.reweight_experiment(db_session=db, key=experiment.key, weights={"control": 1})


def test_layers_exclude_each_other(db, running, spec):
    running("left", layer="pricing", layer_start=0.0, layer_end=0.5)
    running("right", layer="pricing", layer_start=0.5, layer_end=1.0)
    with pytest.raises(StateConflict, match="overlaps"):
        service.create_experiment(
            db_session=db, spec=spec("middle", layer="pricing", layer_start=0.4, layer_end=0.6)
        )
    both = {key: {u for u in UNITS if service.assign(
        db_session=db, key=key, unit_id=u, settings=SETTINGS).in_experiment} for key in ("left", "right")}  # fmt: skip
    assert both["left"] and both["right"] and both["left"].isdisjoint(both["right"])


def test_exposure_records_the_first_time_only(db, running, frozen_clock):
    experiment = running()
    unit, other = [u for u in UNITS if not in_global_holdout(u, SETTINGS)][:2]
    plain = service.assign(db_session=db, key=experiment.key, unit_id=unit, settings=SETTINGS)
    assert plain.first_exposed_at is None  # an assignment is not an exposure
    assert db.scalar(sa.select(sa.func.count()).select_from(ExperimentExposure)) == 0
    t0 = frozen_clock.now()
    first = service.assign(
        db_session=db, key=experiment.key, unit_id=unit, settings=SETTINGS, expose=True
    )
    frozen_clock.advance(timedelta(hours=3))
    later = service.assign(
        db_session=db, key=experiment.key, unit_id=unit, settings=SETTINGS, expose=True
    )
    assert first.first_exposed_at == later.first_exposed_at == t0
    assert later.variant == plain.variant
    counts = service.variant_counts(db_session=db, experiment=experiment)
    assert counts[plain.variant] == {"assigned": 1, "exposed": 1}
    future = t0 + timedelta(days=2)
    with pytest.raises(InputError, match="future"):
        service.assign(db_session=db, key=experiment.key, unit_id=other, settings=SETTINGS,
                       expose=True, exposed_at=future)  # fmt: skip


def test_targeting_by_list_and_by_segment(db, running):
    listed = running("listed", targeting={"units": UNITS[:50]})
    outside = service.assign(db_session=db, key=listed.key, unit_id=UNITS[200], settings=SETTINGS)
    assert outside.reason in ("not_targeted", "holdout") and not outside.in_experiment
    member, other = factories.add_account(db, "seg-member"), factories.add_account(db, "seg-other")
    segment = Segment(
        name="at-risk", rule="x", kind="rule", created_at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    db.add(segment)
    db.flush()
    db.add(SegmentMembership(segment_id=segment.id, account_id=member.id, as_of=date(2025, 6, 1)))
    targeted = running("segmented", targeting={"segment": "at-risk"})
    settings = Settings(holdout_fraction=0.0)
    assert service.assign(
        db_session=db, key=targeted.key, unit_id="seg-member", settings=settings
    ).in_experiment
    refused = service.assign(
        db_session=db, key=targeted.key, unit_id=other.external_id, settings=settings
    )
    assert refused.reason == "not_targeted"
    with pytest.raises(NotFound, match="segment"):
        running("ghost", targeting={"segment": "no-such-segment"})


def test_contact_units_use_their_accounts_holdout(db, running):
    experiment = running("contacts", unit="contact")
    account = next(u for u in UNITS if in_global_holdout(u, SETTINGS))
    holder = factories.add_account(db, account)
    contact = factories.add_contact(db, holder, external_id="c-1")
    result = service.assign(
        db_session=db, key=experiment.key, unit_id=contact.external_id, settings=SETTINGS
    )
    assert result.reason == "holdout"
    with pytest.raises(NotFound, match="contact"):
        service.assign(db_session=db, key=experiment.key, unit_id="c-unknown", settings=SETTINGS)


def test_a_stopped_experiment_answers_control_and_records_nothing(db, running):
    experiment = running()
    service.stop_experiment(db_session=db, key=experiment.key)
    result = service.assign(db_session=db, key=experiment.key, unit_id=UNITS[1], settings=SETTINGS)
    assert (result.variant, result.reason, result.in_experiment) == ("control", "stopped", False)
    assert db.scalar(sa.select(sa.func.count()).select_from(ExperimentAssignment)) == 0
