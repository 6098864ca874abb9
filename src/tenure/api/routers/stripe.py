"""Stripe webhooks: signed, idempotent on the event id, applied to the canonical tables."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from tenure.api.deps import RefresherDep
from tenure.api.errors import Unavailable, responses
from tenure.api.openapi import reads_body
from tenure.api.schemas import WebhookOut
from tenure.billing.schemas import StripeEventIn
from tenure.billing.stripe import AppliedEvent, apply_event, verify_signature
from tenure.db.session import session_scope
from tenure.errors import InputError

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
# The shape Stripe sends (one v1 signature; the check also takes several, in any order).
SIGNATURE = r"^t=[0-9]{1,12},v1=[0-9a-f]{64}$"


class WebhooksNotConfigured(Unavailable):
    """No Stripe webhook secret is configured (HTTP 503)."""


def _event(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"the webhook body is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise InputError("the webhook body must be a Stripe event object")
    return event


def _apply(engine: Engine, event: dict[str, Any]) -> AppliedEvent:
    with session_scope(engine) as session:
        return apply_event(session, event)


@router.post(
    "/stripe",
    response_model=WebhookOut,
    summary="Stripe webhook",
    responses=responses(400, 503),
    openapi_extra={
        "parameters": [
            {
                "name": "Stripe-Signature",
                "in": "header",
                "required": True,
                "description": "t=<unix time>,v1=<HMAC-SHA256 of t.body with the endpoint secret>",
                "schema": {"type": "string", "pattern": SIGNATURE},
            }
        ],
    },
)
@reads_body(StripeEventIn)
async def stripe_webhook(request: Request, refresher: RefresherDep) -> dict[str, Any]:
    """Verify the Stripe-Signature header, apply the event once, then refresh its account's health."""
    secret = request.app.state.settings.stripe_webhook_secret
    if not secret:
        raise WebhooksNotConfigured("Stripe webhooks are off: set TENURE_STRIPE_WEBHOOK_SECRET")
    payload = await request.body()
    verify_signature(payload, request.headers.get("stripe-signature"), secret)
    event = _event(payload)
    try:
        applied = await run_in_threadpool(_apply, request.app.state.engine, event)
    except IntegrityError:  # the same event delivered twice at once: the other one applied it
        applied = AppliedEvent("applied by a concurrent delivery", duplicate=True)
    refresher.submit(applied.touched_accounts)  # committed: today's score follows off-request
    return {
        "received": True,
        "event_id": event["id"],
        "outcome": applied.outcome,
        "duplicate": applied.duplicate,
    }
