"""A play's offers and webhooks for one treated account (tasks and journeys: `plays.entering`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.alerts.outbox import add_delivery
from tenure.config import Settings
from tenure.plays.definitions import (
    OfferAction,
    WebhookAction,
)
from tenure.plays.models import PlayRun

UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class AccountRef:
    """What a play's actions read of an account."""

    id: int
    external_id: str
    name: str
    owner: str | None


@dataclass(frozen=True)
class RunRef:
    """What a play's actions read of a run."""

    id: int
    trigger: str
    started_on: date
    goal_on: date


def offer(action: OfferAction) -> tuple[dict[str, Any], int]:
    """Return the offer's record and cost (nothing spent while it waits for approval)."""
    needs_approval = action.value > action.approval_limit
    status = "pending_approval" if needs_approval else "granted"
    record = {"kind": "offer", "status": status, "offer": action.offer, "value": action.value}
    return record, 0 if needs_approval else action.value


def crm_payload(play: str, run: RunRef | PlayRun, account: AccountRef | Account) -> dict[str, Any]:
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


def webhook(
    session: Session,
    settings: Settings,
    action: WebhookAction,
    play: str,
    run: RunRef,
    account: AccountRef,
) -> tuple[dict[str, Any], int]:
    """Queue the CRM-shaped webhook for one run through the outbox (skipped if not configured)."""
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
