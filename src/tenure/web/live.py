"""Live updates: stream this process's account notifications to logged-in dashboards (SSE).

Each connection subscribes to `tenure.notifications.get_bus()` and forwards tier changes, score
drops and alert changes as server-sent events named after their kind; the browser script
(`static/app.js`) shows a toast and refreshes the alerts list without a reload.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from tenure.accounts.models import Account
from tenure.accounts.people import contact_names
from tenure.notifications import Notification, Subscription, get_bus
from tenure.privacy.masking import mask_text, reveals
from tenure.web.rendering import Dashboard
from tenure.web.session import Viewer

LIVE_KINDS = frozenset(
    {"tier_change", "score_drop", "alert_opened", "alert_changed", "events_recorded"}
)
POLL_SECONDS = 0.2
PING_SECONDS = 15


def describe(note: Notification, account_name: str | None) -> dict[str, Any]:
    """Return what the browser needs to show a notification: kind, account, one line of text."""
    payload = note.payload
    name = account_name or (f"account {note.account_id}" if note.account_id else "")
    texts = {
        "tier_change": f"{name}: health tier {payload.get('from', '?')} → {payload.get('to', '?')}",
        "score_drop": f"{name}: health score dropped to {payload.get('score', '?')}",
        "alert_opened": f"New alert on {name}: {payload.get('message') or payload.get('rule', '')}",
        "alert_changed": f"Alert on {name} is now {payload.get('status', 'updated')}",
        "events_recorded": f"{name}: {payload.get('count', 1)} new event(s) tracked",
    }
    return {
        **note.to_dict(),
        "account_name": name,
        "text": texts.get(note.kind, f"{note.kind} on {name}").strip(),
        "url": f"/accounts/{note.account_id}" if note.account_id else None,
    }


def account_names(engine: sa.Engine, ids: set[int]) -> dict[int, str]:
    """Return the names of these accounts."""
    if not ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Account.id, Account.name).where(Account.id.in_(ids)))
        return {account_id: name for account_id, name in rows}


def people_names(engine: sa.Engine, ids: set[int | None]) -> list[str]:
    """Return the contact names of these accounts (to mask them in alert messages)."""
    with Session(engine) as db:
        return contact_names(db, {i for i in ids if i is not None})


def reveals_note(note: Notification, viewer: Viewer) -> bool:
    """Tell whether the viewer sees the people in a notification (an alert's: its owner's)."""
    return not note.kind.startswith("alert_") or reveals(
        viewer.role, viewer.email, note.payload.get("owner")
    )


def masked_note(note: Notification, names: list[str]) -> Notification:
    """Return the notification with the identifiers in its message masked."""
    payload = dict(note.payload)
    if isinstance(payload.get("message"), str):
        payload["message"] = mask_text(payload["message"], names)
    return Notification(note.kind, note.account_id, payload, at=note.at)


def coalesce(notes: list[Notification]) -> list[Notification]:
    """Return the notes with each account's events_recorded merged into one (counts summed)."""
    merged: dict[int | None, Notification] = {}
    out: list[Notification] = []
    for note in notes:
        if note.kind != "events_recorded":
            out.append(note)
            continue
        before = merged.get(note.account_id)
        count = int(note.payload.get("count", 1)) + (before.payload["count"] if before else 0)
        merged[note.account_id] = Notification(
            note.kind, note.account_id, {**note.payload, "count": count}, at=note.at
        )
    return out + list(merged.values())


def visible(note: Notification, viewer: Viewer) -> bool:
    """Tell whether a viewer sees a notification: a csm sees only alerts they own."""
    if note.kind not in LIVE_KINDS:
        return False
    owner = note.payload.get("owner")
    return not (viewer.role == "csm" and note.kind.startswith("alert_") and owner != viewer.email)


async def notification_events(
    request: Request,
    subscription: Subscription,
    engine: sa.Engine,
    viewer: Viewer,
    stop: anyio.Event,
) -> AsyncIterator[dict[str, str]]:
    """Yield server-sent events for the live kinds until the client goes or the server stops."""
    try:
        yield {"event": "ready", "data": "{}"}
        while not stop.is_set() and not await request.is_disconnected():
            notes = coalesce([n for n in subscription.drain() if visible(n, viewer)])
            if not notes:
                await asyncio.sleep(POLL_SECONDS)
                continue
            ids = {n.account_id for n in notes if n.account_id is not None}
            names = await run_in_threadpool(account_names, engine, ids)
            hidden = {n.account_id for n in notes if not reveals_note(n, viewer)}
            people = await run_in_threadpool(people_names, engine, hidden)
            for note in (masked_note(n, people) if n.account_id in hidden else n for n in notes):
                data = describe(note, names.get(note.account_id or -1))
                yield {"event": note.kind, "data": json.dumps(data, default=str)}
    finally:
        subscription.close()


def add_live_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add the /live event stream to the dashboard router."""

    @router.get("/live")
    async def live(request: Request) -> Response:
        def who() -> Viewer | None:
            with ui.db(request) as db:
                return ui.viewer(request, db)

        viewer = await run_in_threadpool(who)
        if viewer is None:
            return Response("log in first", status_code=401, media_type="text/plain")
        subscription = get_bus().subscribe(maxsize=200)
        stop = anyio.Event()  # set by sse-starlette when the server shuts down
        events = notification_events(request, subscription, ui.engine(request), viewer, stop)
        return EventSourceResponse(
            events, ping=PING_SECONDS, shutdown_event=stop, shutdown_grace_period=1.0
        )
