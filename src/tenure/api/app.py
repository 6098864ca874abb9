"""Build the FastAPI application: create_app(settings); nothing happens at import time."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from tenure.alerts.flows import install_listener
from tenure.api.errors import install_error_handlers
from tenure.api.middleware import BodySizeLimit, RequestMetrics, SecurityHeaders
from tenure.api.openapi import install_openapi
from tenure.api.routers import (
    accounts,
    admin,
    alerts,
    auth,
    consent,
    experiments,
    health,
    journeys,
    loyalty,
    messaging_public,
    metrics,
    plays,
    privacy,
    reports,
    scores,
    segments,
    stripe,
    templates,
    tracking,
)
from tenure.auth.throttle import LoginThrottle
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.events.broker import EventPublisher
from tenure.health.refresher import ScoreRefresher
from tenure.live_relay import start_relay
from tenure.messaging.journeys_live import JourneyKicker
from tenure.tasks import kick_delivery, kick_journeys
from tenure.web.routes import build_router

DESCRIPTION = (
    "Tenure's HTTP API: accounts, scores, metrics, segments, alerts, experiments, loyalty;"
    " Segment-compatible"
    " tracking; Stripe webhooks. Authenticate at `POST /v1/auth/token` (OAuth2 password or"
    " client-credentials grant) and send `Authorization: Bearer <access_token>`."
)


def _include_routers(app: FastAPI) -> None:
    """Add the API's routers."""
    for module in (
        health,
        auth,
        accounts,
        scores,
        metrics,
        segments,
        alerts,
        experiments,
        plays,
        journeys,
        loyalty,
        reports,
        admin,
        privacy,
    ):
        app.include_router(module.router)
    app.include_router(consent.router)
    app.include_router(templates.router)
    app.include_router(tracking.router)
    app.include_router(stripe.router)
    app.include_router(messaging_public.router)


def _mount_static(app: FastAPI) -> None:
    """Serve the dashboard's and /docs' static files at /static."""
    static = Path(__file__).resolve().parent.parent / "web" / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")


def _add_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from the app's own static files (no CDN)."""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Tenure API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )


def _inbox_lock(engine: Any) -> Any:
    """Return the lock tracking writes take: one writer per process on SQLite, none on PostgreSQL.

    SQLite has one writer at a time; threads of one worker queueing on a lock wait less than
    threads retrying SQLite's busy handler (which sleeps in growing steps).
    """
    return threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Own the real-time path: the health refresher (which picks up queued accounts) and alerts."""
    settings = app.state.settings
    app.state.refresher = ScoreRefresher(app.state.engine, settings).start()
    listener = install_listener(
        settings, app.state.engine, on_opened=functools.partial(kick_delivery, settings)
    )
    kicker = JourneyKicker(functools.partial(kick_journeys, settings)).start()
    relay = start_relay(settings)  # live updates reach every worker's dashboards via Redis
    try:
        yield
    finally:
        app.state.refresher.stop()  # refreshes what is pending; its notifications reach alerts
        listener.stop()
        kicker.stop()
        if relay is not None:
            relay.stop()
        if app.state.event_publisher is not None:
            await app.state.event_publisher.close()


def create_app(settings: Settings, *, dashboard: bool = True) -> FastAPI:
    """Return the Tenure API (and, unless dashboard is False, the dashboard) on settings."""
    app = FastAPI(
        title="Tenure",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = get_engine(settings)
    app.state.registry = CollectorRegistry()
    app.state.inbox_lock = _inbox_lock(app.state.engine)
    app.state.event_publisher = EventPublisher(settings) if settings.event_broker_url else None
    app.state.login_throttle = LoginThrottle.from_settings(settings)
    install_error_handlers(app)
    _add_docs(app)
    _include_routers(app)
    install_openapi(app)
    if dashboard:
        app.include_router(build_router(settings))
    _mount_static(app)
    app.add_middleware(RequestMetrics, registry=app.state.registry)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(
        SecurityHeaders, hsts=settings.secure_cookies, trusted_proxies=settings.trusted_proxies
    )
    return app
