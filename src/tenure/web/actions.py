"""State-changing dashboard routes: log in, log out, acknowledge / snooze / resolve an alert.

Every POST checks a CSRF token (the login form's against its double-submit cookie; the others
against the session's), and every change is written to the audit log with the client address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tenure.accounts.schemas import MAX_ID
from tenure.auth.roles import can
from tenure.auth.service import AuthenticationFailed, audit, authenticate
from tenure.auth.throttle import TooManyAttempts
from tenure.errors import InputError, NotFound
from tenure.web import alerts
from tenure.web.rendering import Dashboard, login_redirect
from tenure.web.session import (
    LOGIN_CSRF_COOKIE,
    Viewer,
    csrf_valid,
    end_session,
    login_token,
    set_login_cookie,
    start_session,
    tokens_match,
)

FormText = Annotated[str, Form()]


@dataclass(frozen=True)
class AlertChange:
    """One requested alert action from the dashboard."""

    viewer: Viewer
    alert_id: int
    action: str
    csrf_token: str
    days: str | None


def safe_next(target: str | None) -> str:
    """Return a local path to go to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_ip(request: Request) -> str | None:
    """Return the caller's address as the server saw it."""
    return request.client.host if request.client else None


def _login_form(
    ui: Dashboard,
    request: Request,
    *,
    next_url: str,
    error: str | None,
    status_code: int,
    email: str = "",
) -> Response:
    token = login_token(request)
    context = {"page": "login", "next": next_url, "error": error, "csrf": token}
    context["email"] = email.strip()[:320]
    response = ui.render(request, "login.html", context, viewer=None, status_code=status_code)
    set_login_cookie(ui.settings, response, token)
    return response


def _log_in(ui: Dashboard, request: Request, email: str, password: str, target: str) -> Response:
    """Check a login (throttled per address and email) and start a session on success."""
    throttle = request.app.state.login_throttle
    ip = client_ip(request)
    throttle.admit(ip, email)
    with ui.db(request) as db:
        user = authenticate(db, email, password, ip=ip, settings=ui.settings)
        response = RedirectResponse(target, status_code=303)
        start_session(ui.settings, response, user)
    throttle.succeeded(ip, email)
    return response


def _alert_action(ui: Dashboard, request: Request, db: Session, change: AlertChange) -> Response:
    viewer = change.viewer
    if not csrf_valid(viewer, request, change.csrf_token):
        return ui.error(request, viewer, 403, "the form has expired: reload the page and try again")
    alert = alerts.get_alert(db_session=db, alert_id=change.alert_id)
    own = alert.get("owner") == viewer.email and can(viewer.role, "alerts:act")
    if not (can(viewer.role, "alerts:act_any") or own):
        return ui.error(request, viewer, 403, "your role cannot change this alert")
    changed = alerts.act(
        db_session=db,
        alert_id=change.alert_id,
        action=change.action,
        actor=viewer.email,
        days=change.days,
    )
    audit(
        db,
        actor=viewer.email,
        action=f"alert_{change.action}",
        target=f"alert:{change.alert_id}",
        ip=client_ip(request),
        detail={"via": "dashboard", "status": changed["status"]},
    )
    if request.headers.get("hx-request") == "true":
        context = {"alert": changed, "page": "alerts"}
        return ui.render(request, "_alert_row.html", context, viewer=viewer)
    return RedirectResponse("/alerts", status_code=303)


def change_alert(ui: Dashboard, request: Request, change: AlertChange) -> Response:
    """Apply an alert action in one transaction; bad transitions roll back with a clear 409."""
    with ui.db(request) as db:
        try:
            return _alert_action(ui, request, db, change)
        except NotFound as exc:
            db.rollback()
            return ui.error(request, change.viewer, 404, str(exc))
        except InputError as exc:
            db.rollback()
            return ui.error(request, change.viewer, 409, str(exc))


def add_action_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add login, logout and the alert actions to the dashboard router."""

    @router.get("/login")
    def login_page(request: Request, next: str = "/") -> Response:
        with ui.db(request) as db:
            if ui.viewer(request, db) is not None:
                return RedirectResponse(safe_next(next), status_code=303)
        return _login_form(ui, request, next_url=safe_next(next), error=None, status_code=200)

    @router.post("/login")
    def login_submit(
        request: Request,
        email: FormText = "",
        password: FormText = "",
        csrf_token: FormText = "",
        next: FormText = "/",
    ) -> Response:
        target = safe_next(next)
        if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
            message = "the login form expired: please try again"
            return _login_form(
                ui, request, next_url=target, error=message, status_code=403, email=email
            )
        try:
            response = _log_in(ui, request, email, password, target)
        except TooManyAttempts as exc:
            refused = _login_form(
                ui, request, next_url=target, error=str(exc), status_code=429, email=email
            )
            refused.headers["Retry-After"] = str(exc.retry_after)
            return refused
        except AuthenticationFailed as exc:
            return _login_form(
                ui, request, next_url=target, error=str(exc), status_code=401, email=email
            )
        return response

    @router.post("/logout")
    def logout(request: Request, csrf_token: FormText = "") -> Response:
        with ui.db(request) as db:
            viewer = ui.viewer(request, db)
            if viewer is None:
                return login_redirect(request)
            if not csrf_valid(viewer, request, csrf_token):
                return ui.error(request, viewer, 403, "the form has expired: reload and try again")
            audit(db, actor=viewer.email, action="logout", ip=client_ip(request))
            response = RedirectResponse("/login", status_code=303)
            end_session(ui.settings, response, viewer, db_session=db)
        return response

    @router.post("/alerts/{alert_id}/{action}")
    def alert_action(
        request: Request,
        alert_id: int,
        action: str,
        csrf_token: FormText = "",
        days: FormText = "",
    ) -> Response:
        if action not in alerts.ACTIONS:
            return Response(status_code=404)
        with ui.db(request) as db:
            viewer = ui.viewer(request, db)
        if viewer is None:
            return login_redirect(request)
        if not 1 <= alert_id <= MAX_ID:
            return ui.error(request, viewer, 404, f"no alert with id {alert_id}")
        change = AlertChange(viewer, alert_id, action, csrf_token, days or None)
        return change_alert(ui, request, change)
