"""Two ticks at once (two engines, as two processes would have) run every step exactly once."""

from __future__ import annotations

import contextvars
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from tenure.alerts.models import AlertDelivery
from tenure.db.session import get_engine, session_scope
from tenure.messaging.journeys_engine import tick
from tenure.messaging.journeys_enrol import enrol_manually
from tenure.messaging.journeys_store import get_journey
from tenure.messaging.models import JourneyStepRun, Message

from ..factories import add_account, add_contact
from .journey_helpers import add_journey, add_template, enrollments

CONTACTS = 8
STEPS = [
    {"id": "hello", "kind": "send", "template": "hello", "version": 1},
    {"id": "hook", "kind": "webhook", "endpoint": "crm"},
    {"id": "again", "kind": "send", "template": "again"},
]


def _count(session, model, *where):
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.mark.slow  # two ticks racing over real SQLite and PostgreSQL: 5–9 s on a loaded machine
def test_concurrent_ticks_run_each_step_once(any_engine, any_settings, frozen_clock):
    settings = any_settings.model_copy(update={"holdout_fraction": 0.0, "journey_frequency_cap": 5})
    with session_scope(any_engine) as session:
        add_template(session, "hello")
        add_template(session, "again")
        add_journey(session, steps=STEPS)
        journey = get_journey(session, "j1")
        for _ in range(CONTACTS):
            contact = add_contact(session, add_account(session), consent={"email": True})
            enrol_manually(session, settings, journey, contact.id, "test")
    engines = [get_engine(settings) for _ in range(2)]
    start = threading.Barrier(2)
    reports: list[dict] = []
    errors: list[BaseException] = []

    def run(engine):
        try:
            start.wait()
            reports.append(tick(engine, settings))
        except BaseException as exc:
            errors.append(exc)

    # each thread runs in a copy of this context, so the frozen clock (a contextvar) is in force
    # there too: on the wall clock, a run inside quiet hours deferred every send
    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(run, e)) for e in engines
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for engine in engines:
        engine.dispose()
    assert errors == []
    total = sum((Counter(r) for r in reports), Counter())
    assert total["send:done"] == 2 * CONTACTS and total["webhook:done"] == CONTACTS
    with session_scope(any_engine) as session:
        assert _count(session, JourneyStepRun) == 3 * CONTACTS
        assert _count(session, Message) == 2 * CONTACTS
        assert _count(session, AlertDelivery, AlertDelivery.channel == "email") == 2 * CONTACTS
        assert _count(session, AlertDelivery, AlertDelivery.channel == "webhook") == CONTACTS
        assert {e.status for e in enrollments(session)} == {"completed"}
