"""Batch enrolment gives each contact what one-by-one enrolment would: arm, run number, refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenure.db.session import session_scope
from tenure.experiments.holdout import in_global_holdout
from tenure.messaging.journeys_enrol import journey_arm
from tenure.messaging.journeys_enrol_many import enrol_many
from tenure.messaging.journeys_store import spec_of
from tenure.messaging.journeys_triggers import Entry
from tenure.messaging.models import JourneyEnrollment

from ..factories import add_account, add_contact
from .journey_helpers import NOW, add_journey, add_template, enrollments


@pytest.mark.usefixtures("frozen_clock")
def test_enrol_many_arms_run_numbers_and_refusals(engine, settings):
    settings = settings.model_copy(update={"holdout_fraction": 0.0})
    with session_scope(engine) as session:
        add_template(session, "hello")
        journey = add_journey(session, holdout=0.5, reentry="after", reentry_after_days=30)
        accounts = [add_account(session, f"many-{i}") for i in range(12)]
        contacts = [add_contact(session, a) for a in accounts]
        # contact 0 is in the journey now; contact 1 left it 60 days ago (may re-enter)
        for contact, status, age in ((contacts[0], "active", 1), (contacts[1], "ended", 60)):
            session.add(JourneyEnrollment(
                journey_id=journey.id, contact_id=contact.id, account_id=contact.account_id,
                run_no=1, arm="treated", status=status, current_step="hello",
                entered_at=NOW - timedelta(days=age),
            ))  # fmt: skip
        session.flush()
        entries = [Entry(a.id, None, NOW, "play:test") for a in accounts]
        counts = enrol_many(session, settings, journey, spec_of(journey), entries)
        rows = {e.contact_id: e for e in enrollments(session) if e.trigger == "play:test"}
    assert counts[accounts[0].id] == {"already enrolled": 1}
    assert set(rows) == {c.id for c in contacts[1:]}
    assert rows[contacts[1].id].run_no == 2 and rows[contacts[2].id].run_no == 1
    for account, contact in zip(accounts[1:], contacts[1:], strict=True):
        arm = journey_arm("j1", account.external_id, 0.5)
        assert rows[contact.id].arm == arm and counts[account.id] == {arm: 1}
    assert {r.arm for r in rows.values()} == {"treated", "holdout"}


@pytest.mark.usefixtures("frozen_clock")
def test_enrol_many_refuses_the_global_holdout(engine, settings):
    settings = settings.model_copy(update={"holdout_fraction": 0.5})
    held = next(f"held-{i}" for i in range(100) if in_global_holdout(f"held-{i}", settings))
    with session_scope(engine) as session:
        add_template(session, "hello")
        journey = add_journey(session)
        account = add_account(session, held)
        add_contact(session, account)
        counts = enrol_many(session, settings, journey, spec_of(journey),
                            [Entry(account.id, None, NOW, "play:test")])  # fmt: skip
        assert enrollments(session) == []
    assert counts == {account.id: {"the account is in the global holdout": 1}}
