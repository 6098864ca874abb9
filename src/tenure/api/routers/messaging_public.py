"""Public messaging routes (no login): unsubscribe, preferences, open/click tracking, Mailgun.

The token in each link is the credential (`tenure.messaging.links`). A GET never unsubscribes
(mail scanners follow links): `GET /u/{token}` shows a confirm page, `POST /u/{token}` (the
RFC 8058 one-click POST, or the page's button) unsubscribes. A tampered link is a 404 page, an
expired one a 400 page, never a 500.
"""

from __future__ import annotations

import contextlib
import json
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from tenure.api.errors import Unavailable, responses
from tenure.api.openapi import reads_body
from tenure.db.session import session_scope
from tenure.errors import InputError, NotFound
from tenure.messaging import mailgun, tracking
from tenure.messaging import unsubscribe as unsub
from tenure.messaging.links import LinkExpired, read_click_token, read_open_token
from tenure.web.assets import VENDOR_DIR, missing_assets

router = APIRouter(tags=["messaging"])
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = {"Cache-Control": "no-store, private"}


@cache
def _templates() -> Jinja2Templates:
    from tenure.web.rendering import build_templates

    return build_templates()


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    shared = {"viewer": None, "missing_assets": missing_assets(VENDOR_DIR), "page": "email"}
    return _templates().TemplateResponse(
        request, name, {**shared, **context}, status_code=status, headers=NO_STORE
    )


def _link_error(request: Request, exc: Exception) -> Response:
    status = 400 if isinstance(exc, LinkExpired) else 404
    return _page(request, "email_link_error.html", {"message": str(exc)}, status)


def _what(purpose: str) -> str:
    if purpose == "marketing":
        return "all marketing emails"
    return f"“{purpose.replace('-', ' ').replace('_', ' ')}” emails"


def _confirm(request: Request, token: str, *, done: bool) -> Response:
    settings, touched = request.app.state.settings, frozenset()
    lock = request.app.state.inbox_lock if done else contextlib.nullcontext()
    try:
        with lock, session_scope(request.app.state.engine) as session:
            if done:
                touched = unsub.unsubscribe(session, settings, token, actor="unsubscribe-link")
            contact, data = unsub.contact_of(session, settings, token)
            email = contact.email or ""
    except (NotFound, InputError) as exc:
        return _link_error(request, exc)
    _refresh(request, touched)
    context = {"done": done, "token": token, "contact_email": email, "what": _what(data.purpose)}
    return _page(request, "email_unsubscribe.html", context)


@router.get("/u/{token}", include_in_schema=False)
def unsubscribe_page(request: Request, token: str) -> Response:
    """Show the unsubscribe confirmation (a GET never unsubscribes: scanners follow links)."""
    return _confirm(request, token, done=False)


@router.post("/u/{token}", include_in_schema=False)
def unsubscribe_now(request: Request, token: str) -> Response:
    """Unsubscribe (RFC 8058 one-click POST or the confirm button); 200 with a page."""
    return _confirm(request, token, done=True)


@router.get("/preferences/{token}", include_in_schema=False)
def preferences_page(request: Request, token: str) -> Response:
    """Show a contact's email preferences: marketing on/off and each topic."""
    try:
        with session_scope(request.app.state.engine) as session:
            prefs = unsub.preferences(session, request.app.state.settings, token)
            return _page(request, "email_preferences.html", {"prefs": prefs, "token": token})
    except (NotFound, InputError) as exc:
        return _link_error(request, exc)


@router.post("/preferences/{token}", include_in_schema=False)
async def save_preferences(request: Request, token: str) -> Response:
    """Save the preference form (a full page, or the form alone for HTMX)."""
    form = await request.form()
    all_off = form.get("action") == "unsubscribe_all"
    marketing = False if all_off else form.get("marketing") == "on"
    topics = {str(t) for t in form.getlist("topic")}
    return await run_in_threadpool(_save, request, token, marketing, topics)


def _save(request: Request, token: str, marketing: bool, topics: set[str]) -> Response:
    settings = request.app.state.settings
    try:
        with session_scope(request.app.state.engine) as session:
            prefs = unsub.save_preferences(
                session, settings, token, marketing=marketing, topics=topics
            )
            partial = request.headers.get("hx-request") == "true"
            name = "_email_preferences_form.html" if partial else "email_preferences.html"
            return _page(request, name, {"prefs": prefs, "token": token, "saved": True})
    except (NotFound, InputError) as exc:
        return _link_error(request, exc)


def _refresh(request: Request, accounts: frozenset[int]) -> None:
    """Hand accounts whose events moved to the health refresher (when the app runs one)."""
    refresher = getattr(request.app.state, "refresher", None)
    if accounts and refresher is not None:
        refresher.submit(accounts)


def _track(request: Request, record: Any) -> None:
    """Record an open or click (commit), then refresh the touched accounts' health."""
    with request.app.state.inbox_lock, session_scope(request.app.state.engine) as session:
        tracked = record(session)
    if tracked is not None:
        _refresh(request, tracked.touched_accounts)


@router.get("/t/o/{token}.gif", include_in_schema=False)
def open_pixel(request: Request, token: str) -> Response:
    """Count an open and answer a 1×1 transparent GIF (404 for a tampered token)."""
    settings = request.app.state.settings
    try:
        message_id = read_open_token(settings, token)
    except NotFound:
        return Response(status_code=404, headers=NO_STORE)
    agent = request.headers.get("user-agent")
    _track(request, lambda s: tracking.record_open(s, settings, message_id, user_agent=agent))
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/t/c/{token}", include_in_schema=False)
def click_redirect(request: Request, token: str) -> Response:
    """Count a click and redirect to the signed destination (404 page for a tampered link)."""
    settings = request.app.state.settings
    try:
        message_id, url = read_click_token(settings, token)
    except NotFound as exc:
        return _link_error(request, exc)
    agent = request.headers.get("user-agent")
    _track(request, lambda s: tracking.record_click(s, settings, message_id, url, user_agent=agent))
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


class MailgunSignature(BaseModel):
    """Mailgun's signature block: HMAC-SHA256 of timestamp + token, hex."""

    timestamp: str
    token: str
    signature: str


class MailgunEventIn(BaseModel):
    """A Mailgun webhook: the signature and the event (failed, complained, unsubscribed…)."""

    model_config = ConfigDict(populate_by_name=True)

    signature: MailgunSignature
    event_data: dict[str, Any] = Field(alias="event-data")


class MailgunOut(BaseModel):
    """What the webhook did with the event."""

    received: bool
    event_id: str
    event: str
    outcome: str
    duplicate: bool


class MailgunNotConfigured(Unavailable):
    """No Mailgun webhook signing key is configured (HTTP 503)."""


def _handle(request: Request, body: dict[str, Any]) -> mailgun.WebhookOutcome:
    with session_scope(request.app.state.engine) as session:
        return mailgun.handle_event(session, request.app.state.settings, body)


@router.post(
    "/v1/webhooks/email/mailgun",
    response_model=MailgunOut,
    summary="Mailgun email events webhook",
    tags=["webhooks"],
    responses=responses(400, 503),
)
@reads_body(MailgunEventIn)
async def mailgun_webhook(request: Request) -> dict[str, Any]:
    """Verify Mailgun's signature, then apply a bounce/complaint/unsubscribe event once."""
    if not request.app.state.settings.mailgun_webhook_signing_key:
        raise MailgunNotConfigured(
            "Mailgun webhooks are off: set TENURE_MAILGUN_WEBHOOK_SIGNING_KEY"
        )
    try:
        body = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"the webhook body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InputError("the webhook body must be a JSON object")
    try:
        outcome = await run_in_threadpool(_handle, request, body)
    except IntegrityError:  # the same event delivered twice at once: the other one applied it
        event = body.get("event-data") or {}
        outcome = mailgun.WebhookOutcome(
            str(event.get("id")),
            str(event.get("event")),
            "applied by a concurrent delivery",
            duplicate=True,
        )
    return {"received": True, **outcome.__dict__}
