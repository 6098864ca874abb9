"""Templates, display filters and the per-request page helper of the dashboard."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tenure import clock
from tenure.auth.roles import can
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.metrics.currency import to_major_units
from tenure.web.assets import VENDOR_DIR, missing_assets, style_guard_ids
from tenure.web.charts import heat_class
from tenure.web.session import Viewer, read_viewer

TEMPLATES_DIR = Path(__file__).parent / "templates"
NAV = (
    ("overview", "/", "Overview"),
    ("accounts", "/accounts", "Accounts"),
    ("alerts", "/alerts", "Alerts"),
    ("cohorts", "/cohorts", "Cohorts"),
    ("segments", "/segments", "Segments"),
    ("model", "/model", "Churn model"),
    ("quality", "/quality", "Data quality"),
)


def money(value: Any, currency: str = "", digits: int = 0) -> str:
    """Return money with thousands separators: 12,345 USD; 1.2M when large."""
    if value is None:
        return "—"
    size = abs(float(value))
    if size >= 1e6:
        text = f"{value / 1e6:.2f}M"
    elif size >= 1e5:
        text = f"{value / 1e3:.0f}k"
    else:
        text = f"{value:,.{digits}f}"
    return f"{text} {currency}".strip()


def percent(value: Any, digits: int = 1) -> str:
    """Return a fraction as a percentage, or an em dash."""
    return "—" if value is None else f"{float(value) * 100:.{digits}f} %"


def signed_percent(value: Any, digits: int = 1) -> str:
    """Return a change of a fraction in percentage points with its sign."""
    return "" if value is None else f"{float(value) * 100:+.{digits}f} pt"


def number(value: Any, digits: int = 0) -> str:
    """Return a number with separators, or an em dash."""
    if value is None:
        return "—"
    if not isinstance(value, int | float):
        return str(value)
    return f"{float(value):,.{digits}f}"


def when(value: Any) -> str:
    """Return a timestamp as 'YYYY-MM-DD HH:MM' (UTC) or a date as ISO text."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat() if isinstance(value, date) else str(value)


def chart_json(spec: dict[str, Any]) -> str:
    """Return a figure spec as compact JSON for a data-chart attribute."""
    return json.dumps(spec, separators=(",", ":"), default=str)


def build_templates() -> Jinja2Templates:
    """Return the dashboard's Jinja2 templates with its filters."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.filters.update(
        money=money,
        percent=percent,
        signed_percent=signed_percent,
        number=number,
        when=when,
        chart=chart_json,
        urlquote=lambda v: quote(str(v), safe=""),
        minor=to_major_units,
        heat=heat_class,
    )
    env.globals.update(nav=NAV, can=can, urlencode=urlencode, style_guards=style_guard_ids())
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
