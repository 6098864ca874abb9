"""The dashboard's templates (the shared Jinja2 environment plus its nav) and page helper."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tenure import clock
from tenure.auth.roles import can
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.rendering.environment import template_environment
from tenure.web.assets import VENDOR_DIR, missing_assets, style_guard_ids
from tenure.web.session import Viewer, read_viewer

TEMPLATES_DIR = Path(__file__).parent / "templates"
NAV = (
    ("overview", "/", "Overview"),
    ("accounts", "/accounts", "Accounts"),
    ("alerts", "/alerts", "Alerts"),
    ("cohorts", "/cohorts", "Cohorts"),
    ("forecast", "/forecast", "Forecast"),
    ("segments", "/segments", "Segments"),
    ("experiments", "/experiments", "Experiments"),
    ("plays", "/plays", "Plays"),
    ("tasks", "/tasks", "Tasks"),
    ("messages", "/messages/templates", "Messages"),
    ("journeys", "/journeys", "Journeys"),
    ("loyalty", "/loyalty", "Loyalty"),
    ("roi", "/roi", "ROI"),
    ("risks", "/risks", "Risks"),
    ("scorecard", "/scorecard", "Scorecard"),
    ("model", "/model", "Churn model"),
    ("quality", "/quality", "Data quality"),
)


def build_templates() -> Jinja2Templates:
    """Return the dashboard's Jinja2 templates with its filters."""
    templates = Jinja2Templates(env=template_environment([TEMPLATES_DIR]))
    templates.env.globals.update(
        nav=NAV, can=can, urlencode=urlencode, style_guards=style_guard_ids()
    )
    return templates


@dataclass
class Dashboard:
    """What every dashboard route needs: settings, templates and the app's engine."""

    settings: Settings
    templates: Jinja2Templates

    def engine(self, request: Request) -> Engine:
        """Return the app-DB engine create_app put on the app state."""
        return request.app.state.engine

    @contextlib.contextmanager
    def db(self, request: Request) -> Iterator[Session]:
        """Yield a session committed at the end of the request."""
        with session_scope(self.engine(request)) as session:
            yield session

    def viewer(self, request: Request, db_session: Session) -> Viewer | None:
        """Return the logged-in viewer, or None."""
        return read_viewer(self.settings, request, db_session)

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        viewer: Viewer | None,
        status_code: int = 200,
    ) -> HTMLResponse:
        """Render a template with the shared context (viewer, nav, vendor check, currency)."""
        shared = {
            "viewer": viewer,
            "currency": self.settings.reporting_currency,
            "missing_assets": missing_assets(VENDOR_DIR),
            "now": clock.now(),
            "partial": request.headers.get("hx-request") == "true",
        }
        return self.templates.TemplateResponse(
            request, name, {**shared, **context}, status_code=status_code
        )

    def error(
        self, request: Request, viewer: Viewer | None, status_code: int, message: str
    ) -> HTMLResponse:
        """Render the error page with a clear message (plain text for HTMX requests)."""
        if request.headers.get("hx-request") == "true":
            return HTMLResponse(message, status_code=status_code, media_type="text/plain")
        context = {"status_code": status_code, "message": message, "page": "error"}
        return self.render(request, "error.html", context, viewer=viewer, status_code=status_code)


def login_redirect(request: Request) -> Response:
    """Send an anonymous visitor to the login page (HTMX requests get HX-Redirect)."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    location = "/login?" + urlencode({"next": target})
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)
