"""The journey holdout: about 10 % of 2,000 units, deterministic; held-out contacts get nothing;
A/B variants of a step split by the same assignment, salted by journey and step."""

from __future__ import annotations

import sqlalchemy as sa

from tenure.alerts.models import AlertDelivery
from tenure.db.session import session_scope
from tenure.experiments.assignment import bucket
from tenure.messaging.journeys_engine import tick
from tenure.messaging.journeys_enrol import enrol_manually, holdout_salt, journey_arm
from tenure.messaging.journeys_spec import SendStep
from tenure.messaging.journeys_steps import choose_template, step_salt
from tenure.messaging.journeys_store import get_journey

from ..factories import add_account, add_contact
from .journey_helpers import add_journey, add_template, enrollments, messages, step_runs


def test_ten_percent_of_2000_units_are_held_out_the_same_way_every_time():
    units = [f"acct-{i}" for i in range(2000)]
    arms = [journey_arm("onboarding", u, 0.10) for u in units]
    held = arms.count("holdout")
    assert 160 <= held <= 240  # 200 ± 3 binomial standard deviations (13.4)
    assert arms == [journey_arm("onboarding", u, 0.10) for u in units]
    assert held == sum(bucket("journey:onboarding:holdout", u) < 0.10 for u in units)
    other = [journey_arm("winback", u, 0.10) for u in units]
    assert other != arms  # each journey draws its own holdout
    assert holdout_salt("onboarding") != step_salt("onboarding", "welcome")


def test_ab_variants_split_by_weight_per_step():
    step = SendStep.model_validate({"id": "hi", "kind": "send", "variants": [
        {"key": "short", "template": "hi-short", "weight": 3},
        {"key": "long", "template": "hi-long", "version": 2, "weight": 1},
    ]})  # fmt: skip
    picks = [choose_template(step, "j1", f"acct-{i}") for i in range(2000)]
    short = sum(1 for _, _, variant in picks if variant == "short")
    assert 1440 <= short <= 1560  # 1500 ± 3 sd (19.4)
    assert ("hi-long", 2, "long") in picks and ("hi-short", None, "short") in picks


def test_holdout_contacts_walk_the_steps_but_receive_nothing(engine, settings, frozen_clock):
    settings = settings.model_copy(update={"holdout_fraction": 0.0})  # no global holdout here
    with session_scope(engine) as session:
        add_template(session, "hello")
        journey = add_journey(
            session,
            holdout=0.5,
            steps=[
                {"id": "hello", "kind": "send", "template": "hello", "version": 1},
                {"id": "call", "kind": "task", "title": "Call"},
                {"id": "hook", "kind": "webhook", "endpoint": "crm"},
            ],
        )
        for i in range(16):
            account = add_account(session, external_id=f"hold-{i}")
            contact = add_contact(session, account, consent={"email": True})
            enrol_manually(session, settings, get_journey(session, "j1"), contact.id, "t")
        assert journey.holdout_fraction == 0.5
    tick(engine, settings)
    with session_scope(engine) as session:
        entered = enrollments(session)
        arms = {e.arm for e in entered}
        assert arms == {"treated", "holdout"}
        expected = [journey_arm("j1", f"hold-{i}", 0.5) for i in range(16)]
        assert [e.arm for e in entered] == expected
        treated = [e for e in entered if e.arm == "treated"]
        assert len(messages(session)) == len(treated)
        assert {m.enrollment_id for m in messages(session)} == {e.id for e in treated}
        for e in entered:
            runs = step_runs(session, e.id)
            assert set(runs) == {"hello", "call", "hook"} and e.status == "completed"
            want = "skipped" if e.arm == "holdout" else "done"
            assert {r.status for r in runs.values()} == {want}
        hooks = session.scalar(
            sa.select(sa.func.count())
            .select_from(AlertDelivery)
            .where(AlertDelivery.channel == "webhook")
        )
        assert hooks == len(treated)
