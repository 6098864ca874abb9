"""Journey steps: send, wait, branch, task, webhook, exit; goals and churn end enrollments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tenure.alerts.models import Alert, AlertDelivery
from tenure.db.session import session_scope
from tenure.messaging.journeys_conditions import goal_reached, holds
from tenure.messaging.journeys_engine import tick
from tenure.messaging.journeys_enrol import enrol_manually
from tenure.messaging.journeys_spec import Condition, Goal
from tenure.messaging.journeys_store import get_journey
from tenure.messaging.models import Message
from tenure.segments.models import Segment, SegmentMembership

from ..factories import (
    add_account,
    add_churn_score,
    add_contact,
    add_health_score,
    add_inbox_event,
    add_subscription,
)
from .journey_helpers import add_journey, add_template, enrollments, messages, step_runs

STEPS = [
    {"id": "hello", "kind": "send", "template": "hello", "version": 1},
    {"id": "pause", "kind": "wait", "days": 2},
    {"id": "read", "kind": "branch", "condition": {"kind": "opened"}, "then": "bye",
     "otherwise": "call"},
    {"id": "call", "kind": "task", "title": "Call them"},
    {"id": "hook", "kind": "webhook", "endpoint": "crm"},
    {"id": "stop", "kind": "exit"},
    {"id": "bye", "kind": "send", "template": "bye"},
]  # fmt: skip


def _world(session, **journey):
    account = add_account(session, owner="csm@example.com")
    add_subscription(session, account)
    contact = add_contact(session, account, consent={"email": True}, timezone="UTC")
    add_template(session, "hello")
    add_template(session, "bye")
    add_journey(session, steps=STEPS, **journey)
    return account, contact


def test_send_wait_branch_task_webhook_exit(engine, settings, frozen_clock):
    with session_scope(engine) as session:
        _, contact = _world(session)
        enrolled = enrol_manually(session, settings, get_journey(session, "j1"), contact.id, "t")
        enrollment_id = enrolled.id
    first = tick(engine, settings)
    assert first["send:done"] == 1 and first["wait:done"] == 1
    assert tick(engine, settings).get("send:done") is None  # waiting: nothing runs twice
    frozen_clock.advance(timedelta(days=2, minutes=1))
    second = tick(engine, settings)
    assert second["branch:done"] == 1 and second["task:done"] == 1 and second["exited"] == 1
    with session_scope(engine) as session:
        runs = step_runs(session, enrollment_id)
        assert set(runs) == {"hello", "pause", "read", "call", "hook", "stop"}  # not "bye"
        assert runs["read"].outcome == {"condition": False, "to": "call"}
        (message,) = messages(session)
        assert message.idempotency_key == f"journey-{enrollment_id}-hello"
        task = session.scalar(sa.select(Alert))
        assert task.kind == "task" and task.owner == "csm@example.com" and task.status == "open"
        hook = session.scalar(sa.select(AlertDelivery).where(AlertDelivery.channel == "webhook"))
        assert hook.target == "crm" and hook.payload["step"] == "hook"
        (enrollment,) = enrollments(session)
        assert (enrollment.status, enrollment.exit_reason) == ("exited", "exit_step")


def test_branch_takes_then_when_opened(engine, settings, frozen_clock):
    with session_scope(engine) as session:
        _, contact = _world(session)
        enrol_manually(session, settings, get_journey(session, "j1"), contact.id, "t")
    tick(engine, settings)
    with session_scope(engine) as session:
        (message,) = messages(session)
        message.first_opened_at, message.opens = frozen_clock.now(), 1
    frozen_clock.advance(timedelta(days=3))
    tick(engine, settings)
    with session_scope(engine) as session:
        (enrollment,) = enrollments(session)
        assert enrollment.status == "completed" or enrollment.current_step is None
        assert [m.template_name for m in messages(session)] == ["hello", "bye"]
        assert session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0


def test_goal_streak_ends_enrollment_and_churn_exits(engine, settings, frozen_clock):
    now = frozen_clock.now()
    with session_scope(engine) as session:
        account, contact = _world(session, goals=[{"kind": "event_streak", "days": 3}])
        other = add_account(session)
        add_subscription(session, other, ended_at=now + timedelta(days=1))
        other_contact = add_contact(session, other, consent={"email": True})
        journey = get_journey(session, "j1")
        enrol_manually(session, settings, journey, contact.id, "t")
        enrol_manually(session, settings, journey, other_contact.id, "t")
    tick(engine, settings)
    with session_scope(engine) as session:
        for day in range(3):
            add_inbox_event(session, account, ts=now + timedelta(days=day, hours=1))
    frozen_clock.advance(timedelta(days=2, hours=2))
    tick(engine, settings)
    with session_scope(engine) as session:
        mine, theirs = enrollments(session)
        assert (mine.status, mine.exit_reason) == ("goal", "goal:event_streak")
        assert (theirs.status, theirs.exit_reason) == ("exited", "churned")


def test_frequency_cap_and_quiet_hours_defer_a_send(engine, settings, frozen_clock):
    settings = settings.model_copy(
        update={"journey_frequency_cap": 1, "journey_quiet_hours": "21:00-08:00"}
    )
    now = frozen_clock.now()
    with session_scope(engine) as session:
        _, contact = _world(session)
        contact.timezone = (
            "Asia/Tokyo"  # 12:00 UTC is 21:00 in Tokyo: quiet until 08:00 (23:00 UTC)
        )
        enrol_manually(session, settings, get_journey(session, "j1"), contact.id, "t")
    assert tick(engine, settings)["deferred"] == 1
    with session_scope(engine) as session:
        (enrollment,) = enrollments(session)
        assert enrollment.next_run_at == datetime(2025, 6, 30, 23, 0, tzinfo=UTC)
        assert messages(session) == []
    frozen_clock.set(datetime(2025, 6, 30, 23, 0, tzinfo=UTC))
    tick(engine, settings)
    with session_scope(engine) as session:
        add_journey(session, key="j2", steps=[{"id": "again", "kind": "send", "template": "bye"}])
        enrol_manually(session, settings, get_journey(session, "j2"), contact.id, "t")
    assert tick(engine, settings)["deferred"] == 1  # capped: one email per 7 days
    with session_scope(engine) as session:
        (second,) = enrollments(session, "j2")
        sent_at = session.scalar(sa.select(Message.created_at))
        assert second.next_run_at == sent_at + timedelta(days=7)
        assert sent_at > now


def test_branch_conditions_and_the_upgrade_goal(engine, settings, frozen_clock):
    now = frozen_clock.now()
    with session_scope(engine) as session:
        account, contact = _world(session)
        enrollment = enrol_manually(session, settings, get_journey(session, "j1"), contact.id, "t")
        add_health_score(session, account, tier="red")
        add_churn_score(session, account, risk_tier="high")
        segment = Segment(name="watch", kind="rule", rule="x", created_at=now)
        session.add(segment)
        session.flush()
        session.add(
            SegmentMembership(segment_id=segment.id, account_id=account.id, as_of=now.date())
        )
        assert not holds(session, enrollment, Condition(kind="event", event="Report Created"))
        add_inbox_event(session, account, name="Report Created", ts=now + timedelta(minutes=5))
        assert holds(session, enrollment, Condition(kind="event", event="Report Created"))
        assert holds(session, enrollment, Condition(kind="segment", segment="watch"))
        assert not holds(session, enrollment, Condition(kind="segment", segment="other"))
        assert holds(session, enrollment, Condition(kind="health_tier", tier="red"))
        assert holds(session, enrollment, Condition(kind="churn_risk", tier="high"))
        assert not holds(session, enrollment, Condition(kind="clicked"))
        upgraded = Goal(kind="upgraded")
        assert not goal_reached(session, settings, enrollment, upgraded, now)
        add_subscription(session, account, external_id="sub-up", mrr=5_000,
                         started_at=now + timedelta(hours=1))  # fmt: skip
        assert goal_reached(session, settings, enrollment, upgraded, now + timedelta(hours=2))
