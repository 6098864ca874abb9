"""One mapping from Tenure errors to HTTP: every error is application/problem+json."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from tenure.auth.tokens import AuthenticationFailed
from tenure.errors import (
    ConfigError,
    InputError,
    InvalidFields,
    LockHeld,
    NotFound,
    StateConflict,
    TenureError,
)
from tenure.events.broker import BrokerUnavailable

PROBLEM = "application/problem+json"
log = logging.getLogger(__name__)

DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be used as given (the detail says why)",
    401: "No valid credentials: missing, unknown, expired or revoked",
    403: "The caller's role may not do this",
    404: "No such resource",
    405: "The path does not support this method (Allow lists those it does)",
    409: "The request conflicts with the current state of the target",
    413: "The request body is larger than the server's limit",
    422: "The request does not match the schema, or named fields are out of range",
    429: "Too many attempts; wait for Retry-After seconds",
    503: "A feature is switched off or a dependency is down",
}


class FieldProblem(BaseModel):
    """One field at fault in a 422 answer."""

    loc: str = Field(description="Where the field is, dotted (e.g. body.until)")
    msg: str
    type: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, for people (detail) and programs (status)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    errors: list[FieldProblem] | None = Field(default=None, description="Fields at fault (422)")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return a route's `responses=` for the errors its own code raises (problem+json)."""
    return {status: {"description": DESCRIPTIONS[status]} for status in statuses}


class Forbidden(TenureError):
    """The caller is authenticated but its role may not do this (HTTP 403)."""


class Conflict(TenureError):
    """The request conflicts with the current state of the target (HTTP 409)."""


class PayloadTooLarge(TenureError):
    """The request body is larger than max_request_bytes (HTTP 413)."""


class Unavailable(TenureError):
    """A feature is switched off or a dependency is down (HTTP 503)."""


STATUS: dict[type[TenureError], int] = {
    Unavailable: 503,
    BrokerUnavailable: 503,
    AuthenticationFailed: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    StateConflict: 409,
    InvalidFields: 422,
    PayloadTooLarge: 413,
    InputError: 400,
    LockHeld: 503,
    ConfigError: 500,
}


def problem(
    status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """Return an RFC 9457 problem response."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def status_of(exc: TenureError) -> int:
    """Return the HTTP status of a Tenure error (the nearest mapped base class)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


async def _tenure_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TenureError)
    status = status_of(exc)
    challenge = getattr(exc, "challenge", "Bearer")
    headers = {"WWW-Authenticate": challenge} if status == 401 else {}
    if getattr(exc, "retry_after", None) is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if status >= 500:
        log.error("server error on %s: %s", request.url.path, exc)
    extra = {"errors": exc.errors} if isinstance(exc, InvalidFields) else {}
    return problem(status, str(exc), headers=headers or None, **extra)


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": _where(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:10]) or "invalid request"
    return problem(422, detail, errors=errors)


def _allowed_methods(request: Request) -> str:
    """Return every method some route serves at the request's path (for a 405's Allow)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        pattern, _, _ = compile_path(route.path_format)
        if route.methods and pattern.match(request.url.path):
            methods.update(route.methods)
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem(exc.status_code, str(exc.detail), headers=headers or None)


async def _unstorable_value(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DataError)
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
    return problem(422, f"a value in the request cannot be used by the database: {reason}")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return problem(500, "internal error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Make every error a problem+json response."""
    app.add_exception_handler(TenureError, _tenure_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable_value)  # PostgreSQL: int4 range, NUL bytes
    app.add_exception_handler(Exception, _unexpected)
