"""How journeys are driven: the pipeline stage (live days only), the worker task, the event kick."""

from __future__ import annotations

from datetime import timedelta

from tenure.clock import use_clock
from tenure.db.session import session_scope
from tenure.messaging.journeys_engine import tick
from tenure.messaging.journeys_enrol import enrol_manually
from tenure.messaging.journeys_live import JourneyKicker
from tenure.messaging.journeys_stage import journey_steps
from tenure.messaging.journeys_store import get_journey
from tenure.notifications import Notification, get_bus
from tenure.stage import StageContext
from tenure.tasks import build_huey, register_tasks

from ..factories import add_account, add_contact, add_inbox_event
from .journey_helpers import add_journey, enrollments, step_runs


def test_stage_skips_backfill_days_and_the_worker_task_ticks(engine, settings, frozen_clock):
    settings = settings.model_copy(update={"holdout_fraction": 0.0})
    with session_scope(engine) as session:
        add_journey(session, steps=[{"id": "rest", "kind": "wait", "hours": 1}])
        contact = add_contact(session, add_account(session), consent={"email": True})
        enrol_manually(session, settings, get_journey(session, "j1"), contact.id, "t")
    old = StageContext(settings, engine, frozen_clock.now().date() - timedelta(days=10))
    assert "skipped" in journey_steps(old)
    live = journey_steps(StageContext(settings, engine, frozen_clock.now().date()))
    assert live["wait:done"] == 1
    frozen_clock.advance(timedelta(hours=2))
    tasks = register_tasks(build_huey(settings, immediate=True), settings, engine)
    tasks.journeys_tick()
    with session_scope(engine) as session:
        (enrollment,) = enrollments(session)
        assert enrollment.status == "completed" and set(step_runs(session, enrollment.id)) == {
            "rest"
        }


def test_events_and_tier_changes_kick_a_tick_at_most_once_per_interval():
    kicks: list[int] = []
    kicker = JourneyKicker(lambda: kicks.append(1), min_interval=3600).start()
    try:
        bus = get_bus()
        bus.publish(Notification("alert_opened", 1, {}))
        assert kicks == []
        bus.publish(Notification("events_recorded", 1, {"count": 2}))
        bus.publish(Notification("tier_change", 1, {"to": "red"}))
        assert kicks == [1]  # the second falls inside the interval
    finally:
        kicker.stop()
    get_bus().publish(Notification("events_recorded", 1, {}))
    assert kicks == [1]


class _TickingClock:
    """A clock that moves a millisecond each time it is read (as the wall clock would)."""

    def __init__(self, start):
        self.at = start

    def now(self):
        self.at += timedelta(milliseconds=1)
        return self.at


def test_triggered_entrants_take_their_first_step_in_the_same_tick(engine, settings, frozen_clock):
    settings = settings.model_copy(update={"holdout_fraction": 0.0})
    with session_scope(engine) as session:
        add_journey(session, trigger={"kind": "event", "event": "Trial Ending"},
                    steps=[{"id": "rest", "kind": "wait", "hours": 1}])  # fmt: skip
        account = add_account(session)
        add_contact(session, account, consent={"email": True})
        add_inbox_event(session, account, name="Trial Ending", ts=frozen_clock.now())
    with use_clock(_TickingClock(frozen_clock.now())):
        report = tick(engine, settings)
    assert (report["enrolled"], report["due"], report["wait:done"]) == (1, 1, 1)
