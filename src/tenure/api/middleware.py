"""Pure-ASGI middleware: security headers, request size limit, Prometheus request metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self';"
    " form-action 'self'; frame-ancestors 'none'"
)
# The template preview shows an email in a sandboxed srcdoc iframe (no scripts, unique origin),
# which inherits the page's policy: emails need inline styles and their remote images.
PREVIEW_CSP = CSP.replace("style-src 'self';", "style-src 'self' 'unsafe-inline';").replace(
    "img-src 'self' data:;", "img-src 'self' data: https:;"
)
# Swagger UI (/docs) is served from static/vendor but starts with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self';"
    " img-src 'self' data:; frame-ancestors 'none'"
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class SecurityHeaders:
    """Add CSP, nosniff, frame-ancestors, referrer policy (and HSTS over HTTPS) to responses.

    HSTS only means something over HTTPS: it is sent when the request came over TLS, or
    through a trusted proxy (by address) that says so in X-Forwarded-Proto.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool, trusted_proxies: Iterable[str] = ()) -> None:
        self.app = app
        self.hsts = hsts
        self.trusted_proxies = frozenset(trusted_proxies)

    def _over_https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        peer = scope.get("client") or (None, None)
        if peer[0] not in self.trusted_proxies:
            return False
        forwarded = (_header(scope, b"x-forwarded-proto") or "").split(",")[0]
        return forwarded.strip().lower() == "https"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in ("/docs", "/redoc") else CSP
        if scope["path"] == "/messages/templates":
            csp = PREVIEW_CSP
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if self.hsts and self._over_https(scope):
            extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _send_problem(send: Send, status: int, detail: str) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": "Content Too Large", "status": status, "detail": detail}
    ).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"connection", b"close")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """Refuse bodies larger than max_bytes with 413 problem+json, by header or while reading."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"the request body is larger than the limit of {self.max_bytes} bytes"
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _send_problem(send, 413, detail)
                return
        received, started, refused = 0, False, False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    await _send_problem(send, 413, detail)
                    refused = True
                    return {"type": "http.disconnect"}  # the app stops reading: client gone
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; drop whatever the app answers
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:  # a refused body surfaces as a client disconnect in the app
                raise


class RequestMetrics:
    """Count requests and time them per method, route template and status."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "tenure_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "tenure_http_request_seconds",
            "Time to serve an HTTP request",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
