"""Segment-compatible tracking: /v1/track, /identify, /group, /alias, /page, /screen, /batch."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from sqlalchemy.orm import Session

from tenure.api.deps import RefresherDep
from tenure.api.errors import responses
from tenure.api.schemas import Accepted
from tenure.api.segment import (
    AliasMessage,
    Intake,
    SegmentBatch,
    SegmentMessage,
    TrackMessage,
    read_messages,
)
from tenure.auth.service import write_key_valid
from tenure.auth.tokens import AuthenticationFailed
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.events.landing import land_events, notify_landed
from tenure.health.refresher import ScoreRefresher


class SegmentRoute(APIRoute):
    """A tracking route: a body that does not parse is a 400 (as Segment answers), not a 422."""

    validation_status = 400  # read by tenure.api.openapi: no 422 is documented

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Return the route's handler, answering request-validation errors with InputError."""
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                _check_key(request)  # a missing or unknown key is a 401 before a bad body's 400
                problems = [
                    f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                    for e in exc.errors()[:10]
                ]
                raise InputError("malformed request: " + "; ".join(problems)) from None

        return answer


router = APIRouter(prefix="/v1", tags=["tracking"], route_class=SegmentRoute)
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


def _check_key(request: Request) -> None:
    """Refuse the request's write key (401) if it is missing, unknown or revoked."""
    key = _write_key(request, None)
    with session_scope(request.app.state.engine) as session:
        if write_key_valid(session, key) is None:
            raise WriteKeyRejected("the write key is not valid")


def _store(
    request: Request, key: str, intake: Intake, refresher: ScoreRefresher, *, single: bool = False
) -> dict[str, Any]:
    """Check the key; land the intake (or publish it to the broker); answer what was stored.

    A single call (not a batch) whose message was rejected is a 400 (after the key check).
    """
    engine, settings = request.app.state.engine, request.app.state.settings
    if request.app.state.event_publisher is not None:
        return _publish(request, key, intake, single=single)
    with request.app.state.inbox_lock, session_scope(engine) as session:
        _check_intake(session, key, intake, single)
        landed = land_events(
            session, intake.events, intake.links, login_events=settings.health_login_events
        )
    refresher.submit(landed.touched_accounts)
    notify_landed(landed)
    return {
        "success": True,
        "accepted": landed.result.accepted,
        "duplicates": landed.result.duplicates,
        "held": landed.held,
        "erased": landed.result.erased,
        "rejected": [asdict(r) for r in intake.rejected],
    }


def _check_intake(session: Session, key: str, intake: Intake, single: bool) -> None:
    """Refuse an invalid write key (401), then a single call's rejected message (400)."""
    if write_key_valid(session, key) is None:
        raise WriteKeyRejected("the write key is not valid")
    if single and intake.rejected:
        raise InputError(intake.rejected[0].reason)


def _publish(request: Request, key: str, intake: Intake, *, single: bool) -> dict[str, Any]:
    """Publish the intake to the event broker and answer once it confirmed (else a 503).

    The consumer de-duplicates and resolves accounts, so `duplicates` and `held` are 0 here.
    """
    with session_scope(request.app.state.engine) as session:
        _check_intake(session, key, intake, single)
    publisher = request.app.state.event_publisher
    messages = publisher.messages(intake.events, intake.event_links)
    if messages:
        anyio.from_thread.run(publisher.publish, messages)
    return {
        "success": True,
        "accepted": len(intake.events),
        "duplicates": 0,
        "held": 0,
        "erased": 0,
        "rejected": [asdict(r) for r in intake.rejected],
    }


Credentials = Annotated[HTTPBasicCredentials | None, Depends(basic)]


def _one(call: str):
    model = {"track": TrackMessage, "alias": AliasMessage}.get(call, SegmentMessage)

    def endpoint(
        message: SegmentMessage,
        request: Request,
        credentials: Credentials,
        refresher: RefresherDep,
    ) -> Any:
        key = _write_key(request, credentials)
        intake = read_messages([message.model_dump(exclude_none=True)], call=call)
        return _store(request, key, intake, refresher, single=True)

    endpoint.__name__ = call
    endpoint.__annotations__["message"] = model  # track names its event, alias both ids
    endpoint.__doc__ = f"Record a Segment {call} call (acknowledged once stored)."
    return endpoint


for _call in ("track", "identify", "group", "alias", "page", "screen"):
    router.add_api_route(
        f"/{_call}",
        _one(_call),
        methods=["POST"],
        response_model=Accepted,
        summary=f"Segment {_call}",
        responses=responses(400, 401, 503),
    )


@router.post(
    "/batch", response_model=Accepted, summary="Segment batch", responses=responses(400, 401, 503)
)
def batch(
    body: SegmentBatch, request: Request, credentials: Credentials, refresher: RefresherDep
) -> Any:
    """Record a Segment batch: valid messages land, bad ones are listed in `rejected`."""
    key = _write_key(request, credentials)
    return _store(request, key, read_messages(body.batch, shared=body.context), refresher)
