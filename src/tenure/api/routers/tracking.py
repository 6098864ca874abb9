"""Segment-compatible tracking: /v1/track, /v1/identify, /v1/group, /v1/page, /v1/batch."""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from tenure.accounts.models import Account
from tenure.api.deps import RefresherDep
from tenure.api.errors import responses
from tenure.api.schemas import Accepted
from tenure.api.segment import (
    SegmentBatch,
    SegmentMessage,
    TrackMessage,
    batch_events,
    to_event,
)
from tenure.auth.service import write_key_valid
from tenure.auth.tokens import AuthenticationFailed
from tenure.db.session import session_scope
from tenure.events.service import record_events
from tenure.health.refresher import ScoreRefresher
from tenure.notifications import Notification, get_bus

router = APIRouter(prefix="/v1", tags=["tracking"])
basic = HTTPBasic(auto_error=False, description="Write key as the user name, empty password")


class WriteKeyRejected(AuthenticationFailed):
    """The write key is missing, unknown or revoked."""

    challenge = 'Basic realm="tenure tracking"'


def _write_key(request: Request, credentials: HTTPBasicCredentials | None) -> str:
    if credentials is not None and credentials.username:
        return credentials.username
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):  # e.g. "key" without the colon
        try:
            return base64.b64decode(header[6:], validate=True).decode("utf-8").split(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            pass
    raise WriteKeyRejected("tracking needs a write key: HTTP basic auth with the key as user name")


def _store(
    request: Request, key: str, events: list[dict[str, Any]], refresher: ScoreRefresher
) -> dict[str, Any]:
    """Check the key, record the events and commit before answering; then refresh and notify."""
    engine, settings = request.app.state.engine, request.app.state.settings
    with request.app.state.inbox_lock, session_scope(engine) as session:
        if write_key_valid(session, key) is None:
            raise WriteKeyRejected("the write key is not valid")
        result = record_events(
            events, db_session=session, login_events=settings.health_login_events
        )
    refresher.submit(result.touched_accounts)  # committed: today's scores follow off-request
    _notify(engine, events)
    return {"success": True, "accepted": result.accepted, "duplicates": result.duplicates}


def _notify(engine: sa.Engine, events: list[dict[str, Any]]) -> None:
    """Publish one events_recorded notification per known account of the batch."""
    counts = Counter(e["account_id"] for e in events)
    with session_scope(engine) as session:
        ids = dict(
            session.execute(
                sa.select(Account.external_id, Account.id).where(Account.external_id.in_(counts))
            ).all()
        )
    bus = get_bus()
    for external_id, account_id in ids.items():
        payload = {"external_id": external_id, "count": counts[external_id]}
        bus.publish(Notification("events_recorded", account_id, payload))


Credentials = Annotated[HTTPBasicCredentials | None, Depends(basic)]


def _one(call: str):
    model = TrackMessage if call == "track" else SegmentMessage

    def endpoint(
        message: SegmentMessage,
        request: Request,
        credentials: Credentials,
        refresher: RefresherDep,
    ) -> Any:
        key = _write_key(request, credentials)
        return _store(request, key, [to_event(message, call, 0)], refresher)

    endpoint.__name__ = call
    endpoint.__annotations__["message"] = model  # a track call must name its event
    endpoint.__doc__ = f"Record a Segment {call} call (acknowledged once stored)."
    return endpoint


for _call in ("track", "identify", "group", "page", "screen"):
    router.add_api_route(
        f"/{_call}",
        _one(_call),
        methods=["POST"],
        response_model=Accepted,
        summary=f"Segment {_call}",
        responses=responses(400, 401),
    )


@router.post(
    "/batch", response_model=Accepted, summary="Segment batch", responses=responses(400, 401)
)
def batch(
    body: SegmentBatch, request: Request, credentials: Credentials, refresher: RefresherDep
) -> Any:
    """Record a Segment batch; duplicate messageIds are accepted and ignored."""
    key = _write_key(request, credentials)
    return _store(request, key, batch_events(body), refresher)
