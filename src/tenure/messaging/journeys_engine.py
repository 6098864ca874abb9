"""The journey tick: enrol what the triggers found, end goals and churn, run the due steps.

`tick(engine, settings)` is what `tenure journeys tick`, the pipeline's `journeys` stage and
the worker's periodic task call. Each enrollment advances in its own transaction, which first
claims the step (JourneyStepRun, unique per enrollment and step): a second tick running at the
same time finds the claim taken and rolls back, so every step runs exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.config import Settings
from tenure.db.bulk import dialect_insert
from tenure.db.session import session_scope
from tenure.logging import get_logger
from tenure.messaging import journeys_conditions as conditions
from tenure.messaging import journeys_spec as spec
from tenure.messaging.journeys_enrol import enrol_entries
from tenure.messaging.journeys_steps import StepInput, run_step
from tenure.messaging.journeys_store import spec_of
from tenure.messaging.journeys_timing import next_send_slot, zone
from tenure.messaging.journeys_triggers import entries_for
from tenure.messaging.models import Journey, JourneyEnrollment, JourneyStepRun, Message

log = get_logger(__name__)


class StepTaken(Exception):
    """Another tick claimed this enrollment's step first (its transaction is rolled back)."""


def _finish(enrollment: JourneyEnrollment, status: str, reason: str | None, now: datetime) -> None:
    enrollment.status, enrollment.exit_reason, enrollment.ended_at = status, reason, now
    enrollment.next_run_at = None


def _claim(session: Session, enrollment: JourneyEnrollment, step_id: str, now: datetime) -> int:
    """Insert the step's run row or raise StepTaken if it exists."""
    statement = (
        dialect_insert(session, JourneyStepRun)
        .values(enrollment_id=enrollment.id, step_id=step_id, status="running", outcome={}, at=now)
        .on_conflict_do_nothing(index_elements=["enrollment_id", "step_id"])
        .returning(JourneyStepRun.id)
    )
    claimed = session.execute(statement).scalar()
    if claimed is None:
        raise StepTaken(f"enrollment {enrollment.id} step {step_id}")
    return claimed


def _send_slot(session: Session, settings: Settings, contact: Contact, now: datetime) -> datetime:
    """Return when the contact may next get a journey email (quiet hours, frequency cap)."""
    window = timedelta(days=settings.journey_frequency_days)
    sent = session.scalars(
        sa.select(Message.created_at).where(
            Message.contact_id == contact.id, Message.journey_id.is_not(None),
            Message.status != "suppressed", Message.created_at > now - window,
        )
    )  # fmt: skip
    tz = zone(contact.timezone, settings.journey_default_timezone)
    cap = settings.journey_frequency_cap
    return next_send_slot(now, tz, settings.journey_quiet_hours, list(sent), cap, window)


def advance(session: Session, settings: Settings, enrollment_id: int, now: datetime) -> Counter:
    """Run an enrollment's due steps, in order, until it waits or ends; count what happened."""
    done: Counter = Counter()
    query = sa.select(JourneyEnrollment).where(JourneyEnrollment.id == enrollment_id)
    enrollment = session.scalars(query.with_for_update()).first()
    if enrollment is None or enrollment.status != "active":
        return done
    journey = session.get_one(Journey, enrollment.journey_id)
    if journey.status != "active":
        return done
    definition = spec_of(journey)
    given = StepInput(
        settings, journey, definition, enrollment, session.get_one(Account, enrollment.account_id),
        session.get_one(Contact, enrollment.contact_id), now,
    )  # fmt: skip
    for _ in range(len(definition.steps) + 1):
        if not _advance_one(session, given, done):
            break
    return done


def _advance_one(session: Session, given: StepInput, done: Counter) -> bool:
    """Run the current step if due; return whether to try the next one."""
    enrollment, definition, now = given.enrollment, given.definition, given.now
    if enrollment.status != "active" or (enrollment.next_run_at or now) > now:
        return False
    if enrollment.current_step is None:
        _finish(enrollment, "completed", None, now)
        done["completed"] += 1
        return False
    if enrollment.current_step not in {s.id for s in definition.steps}:
        _finish(enrollment, "exited", "step_removed", now)
        done["exited"] += 1
        return False
    step = definition.step(enrollment.current_step)
    if isinstance(step, spec.SendStep) and not given.held_out:
        slot = _send_slot(session, given.settings, given.contact, now)
        if slot > now:
            enrollment.next_run_at = slot
            done["deferred"] += 1
            return False
    run_id = _claim(session, enrollment, step.id, now)
    result = run_step(session, given, step)
    run = session.get_one(JourneyStepRun, run_id)
    run.status, run.outcome = result.status, result.outcome
    done[f"{step.kind}:{result.status}"] += 1
    if result.exit:
        _finish(enrollment, "exited", "exit_step", now)
        done["exited"] += 1
        return False
    enrollment.current_step = result.next_step or definition.after(step.id)
    enrollment.next_run_at = result.resume_at or now
    session.flush()
    return True


def close_finished(session: Session, settings: Settings, now: datetime) -> Counter:
    """End enrollments whose account reached a goal (within the window) or churned."""
    done: Counter = Counter()
    for journey in session.scalars(sa.select(Journey)):
        definition = spec_of(journey)
        since = now - timedelta(days=definition.goal_window_days)
        query = sa.select(JourneyEnrollment).where(
            JourneyEnrollment.journey_id == journey.id,
            JourneyEnrollment.status.in_(("active", "completed")),
            JourneyEnrollment.entered_at >= since,
        )
        for enrollment in session.scalars(query):
            done.update(_close_one(session, settings, definition, enrollment, now))
    return done


def _close_one(
    session: Session, settings: Settings, definition: spec.JourneySpec,
    enrollment: JourneyEnrollment, now: datetime,
) -> Counter:  # fmt: skip
    for goal in definition.goals:
        if conditions.goal_reached(session, settings, enrollment, goal, now):
            _finish(enrollment, "goal", f"goal:{goal.kind}", now)
            return Counter(goal=1)
    active = enrollment.status == "active" and definition.exit_on_churn
    if active and conditions.churned(session, enrollment, now):
        _finish(enrollment, "exited", "churned", now)
        return Counter(exited=1)
    return Counter()


def enrol_due(session: Session, settings: Settings) -> Counter:
    """Evaluate every active journey's trigger and enrol the entries."""
    done: Counter = Counter(journeys=0, enrolled=0)
    for journey in session.scalars(sa.select(Journey).where(Journey.status == "active")):
        done["journeys"] += 1
        definition = spec_of(journey)
        counts = enrol_entries(
            session, settings, journey, definition, entries_for(session, definition)
        )
        done["enrolled"] += counts.get("treated", 0) + counts.get("holdout", 0)
        done["enrolled_holdout"] += counts.get("holdout", 0)
    return done


def due_enrollments(session: Session, now: datetime) -> list[int]:
    """Return the ids of active enrollments of active journeys whose next step is due."""
    query = (
        sa.select(JourneyEnrollment.id)
        .join(Journey, Journey.id == JourneyEnrollment.journey_id)
        .where(
            Journey.status == "active",
            JourneyEnrollment.status == "active",
            JourneyEnrollment.next_run_at <= now,
        )
        .order_by(JourneyEnrollment.next_run_at, JourneyEnrollment.id)
    )
    return list(session.scalars(query))


def tick(engine: Engine, settings: Settings) -> dict[str, int]:
    """Advance every journey once: enrol, close goals and churn, run due steps; return counts."""
    now = clock.now()
    report: Counter = Counter()
    with session_scope(engine) as session:
        report.update(enrol_due(session, settings))
    with session_scope(engine) as session:
        report.update(close_finished(session, settings, now))
    now = clock.now()  # after enrolment: the new entrants' first steps are due
    with session_scope(engine) as session:
        due = due_enrollments(session, now)
    report["due"] = len(due)
    for enrollment_id in due:
        try:
            with session_scope(engine) as session:
                report.update(advance(session, settings, enrollment_id, now))
        except StepTaken as exc:
            log.info("journey step already taken by another tick", detail=str(exc))
            report["raced"] += 1
    return dict(report)


def enrol_and_run(engine: Engine, settings: Settings, enrollment_id: int) -> dict[str, int]:
    """Run a freshly enrolled contact's first steps now (manual enrolment)."""
    try:
        with session_scope(engine) as session:
            return dict(advance(session, settings, enrollment_id, clock.now()))
    except StepTaken:
        return {"raced": 1}
