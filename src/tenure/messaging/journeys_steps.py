"""What each journey step does for one enrollment (inside the caller's transaction).

The engine claims the step (its JourneyStepRun row) before calling these, so a step's effect
happens once. A holdout enrollment walks the same steps but is sent nothing: its sends, tasks
and webhooks are recorded as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jinja2
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Contact
from tenure.alerts import outbox
from tenure.alerts import service as alerts
from tenure.alerts.models import AlertRule
from tenure.alerts.routing import routing_from_settings
from tenure.alerts.schemas import Trigger
from tenure.config import Settings
from tenure.errors import TenureError
from tenure.experiments.assignment import Variant, variant_of
from tenure.messaging import journeys_conditions as conditions
from tenure.messaging import journeys_spec as spec
from tenure.messaging.journeys_timing import next_in_window, zone
from tenure.messaging.models import Journey, JourneyEnrollment
from tenure.messaging.sending import MessageOrigin, send_message

TASK_KIND = "task"


@dataclass
class StepOutcome:
    """How a step ended: its status, what to record, the next step and when to run it."""

    status: str  # done, skipped, failed
    outcome: dict[str, Any] = field(default_factory=dict)
    next_step: str | None = None
    resume_at: datetime | None = None
    exit: bool = False


@dataclass(frozen=True)
class StepInput:
    """What a step needs: the journey, its definition, the enrollment, account and contact."""

    settings: Settings
    journey: Journey
    definition: spec.JourneySpec
    enrollment: JourneyEnrollment
    account: Account
    contact: Contact
    now: datetime

    @property
    def held_out(self) -> bool:
        """Return whether this enrollment is in the journey's holdout."""
        return self.enrollment.arm == "holdout"


def step_salt(journey_key: str, step_id: str) -> str:
    """Return the assignment salt of a step's A/B test."""
    return f"journey:{journey_key}:step:{step_id}"


def choose_template(
    step: spec.SendStep, journey_key: str, unit: str
) -> tuple[str, int | None, str | None]:
    """Return (template, version, variant key) for a unit; the variant is None without a test."""
    if not step.variants:
        assert step.template is not None
        return step.template, step.version, None
    arms = [Variant(v.key, v.weight) for v in step.variants]
    key = variant_of(step_salt(journey_key, step.id), unit, arms)
    chosen = next(v for v in step.variants if v.key == key)
    return chosen.template, chosen.version, key


def run_send(session: Session, given: StepInput, step: spec.SendStep) -> StepOutcome:
    """Send the step's email once (idempotency key journey-{enrollment}-{step})."""
    template, version, variant = choose_template(step, given.journey.key, given.account.external_id)
    facts: dict[str, Any] = {"template": template, "version": version, "variant": variant}
    if given.held_out:
        return StepOutcome("skipped", {**facts, "holdout": True})
    origin = MessageOrigin(
        idempotency_key=f"journey-{given.enrollment.id}-{step.id}",
        journey_id=given.journey.id,
        enrollment_id=given.enrollment.id,
        step_id=step.id,
        variant=variant,
    )
    try:
        message = send_message(
            session, given.settings, account=given.account, contact=given.contact,
            template=template, version=version, origin=origin,
        )  # fmt: skip
    except (TenureError, jinja2.TemplateError) as exc:
        return StepOutcome("failed", {**facts, "error": str(exc)})
    return StepOutcome(
        "done", {**facts, "message_id": message.id, "message_status": message.status}
    )


def run_wait(given: StepInput, step: spec.WaitStep) -> StepOutcome:
    """Wait the duration, then until the contact's local window opens."""
    until = given.now + timedelta(days=step.days, hours=step.hours)
    if step.until_window:
        tz = zone(given.contact.timezone, given.settings.journey_default_timezone)
        until = next_in_window(until, tz, step.until_window)
    return StepOutcome("done", {"until": until.isoformat()}, resume_at=until)


def run_branch(session: Session, given: StepInput, step: spec.BranchStep) -> StepOutcome:
    """Go to `then` when the condition holds, else to `otherwise` (or the next step)."""
    held = conditions.holds(session, given.enrollment, step.condition)
    target = step.then if held else (step.otherwise or given.definition.after(step.id))
    return StepOutcome("done", {"condition": held, "to": target}, next_step=target)


def run_task(session: Session, given: StepInput, step: spec.TaskStep) -> StepOutcome:
    """Open a CSM task: an alert of kind `task` in the account owner's inbox (no delivery)."""
    if given.held_out:
        return StepOutcome("skipped", {"holdout": True})
    rule = AlertRule(
        name=f"journey:{given.journey.key}:{step.id}"[:64], kind=TASK_KIND, severity=step.severity,
        route="owner", channels=[], cooldown_hours=0, escalate_after_hours=None, enabled=True,
        description=f"Journey {given.journey.name}, step {step.id}",
    )  # fmt: skip
    trigger = Trigger(
        given.account.id,
        f"{step.title} (journey {given.journey.name}, contact {given.contact.email or given.contact.external_id})",
        {"journey": given.journey.key, "step": step.id, "contact_id": given.contact.id},
    )
    opened = alerts.open_alerts(session, rule, [trigger], routing_from_settings(given.settings))
    alert_id = opened[0].id if opened else None
    return StepOutcome("done", {"alert_id": alert_id, "deduplicated": alert_id is None})


def run_webhook(session: Session, given: StepInput, step: spec.WebhookStep) -> StepOutcome:
    """Queue a signed webhook call in the outbox (channel webhook, target the endpoint name)."""
    if given.held_out:
        return StepOutcome("skipped", {"holdout": True})
    key = f"journey-{given.enrollment.id}-{step.id}"
    payload = {
        "type": "journey_step", "journey": given.journey.key, "step": step.id,
        "account": given.account.external_id, "contact": given.contact.external_id,
        "enrollment": given.enrollment.id,
    }  # fmt: skip
    subject = f"Journey {given.journey.key}: {step.id}"
    delivery = outbox.add_delivery(
        session, "webhook", step.endpoint, key[:128], subject, subject, payload, None, "journey"
    )
    return StepOutcome("done", {"delivery_id": delivery.id})


def run_step(session: Session, given: StepInput, step: Any) -> StepOutcome:
    """Run one step; the engine records the outcome and moves the enrollment on."""
    if isinstance(step, spec.SendStep):
        return run_send(session, given, step)
    if isinstance(step, spec.WaitStep):
        return run_wait(given, step)
    if isinstance(step, spec.BranchStep):
        return run_branch(session, given, step)
    if isinstance(step, spec.TaskStep):
        return run_task(session, given, step)
    if isinstance(step, spec.WebhookStep):
        return run_webhook(session, given, step)
    return StepOutcome("done", {}, exit=True)
