"""What a play does for a treated account: tasks, offers, webhooks, journey enrolment, and cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.alerts.outbox import add_delivery
from tenure.config import Settings
from tenure.messaging.journeys_enrol import enrol_entries
from tenure.messaging.journeys_store import spec_of
from tenure.messaging.journeys_triggers import Entry
from tenure.messaging.models import Journey
from tenure.plays.definitions import (
    JourneyAction,
    OfferAction,
    PlayDefinition,
    TaskAction,
    WebhookAction,
)
from tenure.plays.models import CsmTask, PlayRun

UNASSIGNED = "unassigned"


@dataclass
class Done:
    """The actions taken for one run and what they cost (reporting minor units)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    cost: int = 0


def _task(
    session: Session,
    action: TaskAction,
    definition: PlayDefinition,
    run: PlayRun,
    account: Account,
    day: date,
) -> tuple[dict[str, Any], int]:
    task = CsmTask(
        account_id=account.id,
        play_run_id=run.id,
        owner=account.owner or UNASSIGNED,
        title=action.title,
        checklist=action.checklist,
        due_on=day + timedelta(days=action.due_in_days),
        status="open",
        created_at=clock.now(),
    )
    session.add(task)
    session.flush()
    cost = round(action.minutes / 60 * definition.cost.csm_hourly_rate)
    return {"kind": "task", "status": "created", "task_id": task.id, "owner": task.owner}, cost


def _offer(action: OfferAction) -> tuple[dict[str, Any], int]:
    needs_approval = action.value > action.approval_limit
    status = "pending_approval" if needs_approval else "granted"
    record = {"kind": "offer", "status": status, "offer": action.offer, "value": action.value}
    return record, 0 if needs_approval else action.value


def crm_payload(play: str, run: PlayRun, account: Account) -> dict[str, Any]:
    """Return the CRM-shaped body a play's webhook sends (an activity on the account)."""
    return {
        "type": "play.started",
        "play": play,
        "account": {
            "external_id": account.external_id,
            "name": account.name,
            "owner": account.owner,
        },
        "activity": {
            "subject": f"Retention play: {play}",
            "trigger": run.trigger,
            "started_on": run.started_on.isoformat(),
            "goal_on": run.goal_on.isoformat(),
        },
    }


def _webhook(
    session: Session,
    settings: Settings,
    action: WebhookAction,
    play: str,
    run: PlayRun,
    account: Account,
) -> tuple[dict[str, Any], int]:
    if action.endpoint not in settings.alert_webhooks:
        return {"kind": "webhook", "status": "skipped", "reason": "endpoint not configured"}, 0
    key = f"play-{run.id}-webhook-{action.endpoint}"
    subject = f"Retention play {play} for {account.name}"
    add_delivery(
        session,
        "webhook",
        action.endpoint,
        key[:128],
        subject[:255],
        subject,
        crm_payload(play, run, account),
        None,
        "play",
    )
    return {"kind": "webhook", "status": "queued", "endpoint": action.endpoint}, 0


def _journey(
    session: Session,
    settings: Settings,
    definition: PlayDefinition,
    action: JourneyAction,
    run: PlayRun,
) -> tuple[dict[str, Any], int]:
    journey = session.scalar(sa.select(Journey).where(Journey.key == action.journey))
    if journey is None:
        return {"kind": "journey", "status": "skipped", "reason": "journey not loaded"}, 0
    if journey.status != "active":
        return {"kind": "journey", "status": "skipped", "reason": "journey paused"}, 0
    entry = Entry(run.account_id, None, clock.now(), f"play:{definition.key}")
    counts = enrol_entries(session, settings, journey, spec_of(journey), [entry])
    enrolled = counts.get("treated", 0) + counts.get("holdout", 0)
    cost = action.emails * definition.cost.email * counts.get("treated", 0)
    record = {
        "kind": "journey",
        "status": "enrolled" if enrolled else "skipped",
        "journey": action.journey,
        "contacts": counts,
    }
    return record, cost


def perform(
    session: Session,
    settings: Settings,
    definition: PlayDefinition,
    run: PlayRun,
    account: Account,
    day: date,
) -> Done:
    """Take every action of a play for one treated account; return the records and cost."""
    done = Done()
    for action in definition.actions:
        if isinstance(action, TaskAction):
            record, cost = _task(session, action, definition, run, account, day)
        elif isinstance(action, OfferAction):
            record, cost = _offer(action)
        elif isinstance(action, WebhookAction):
            record, cost = _webhook(session, settings, action, definition.key, run, account)
        else:
            record, cost = _journey(session, settings, definition, action, run)
        done.records.append(record)
        done.cost += cost
    return done
