"""The task inbox's actions on the dashboard: complete, snooze and assign a CSM task.

Like the alert actions: a CSRF token on every POST, a csm acts only on their own tasks, only
managers and admins assign, and each change is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.schemas import MAX_ID
from tenure.auth.roles import can
from tenure.auth.service import audit
from tenure.errors import InputError, NotFound
from tenure.plays import tasks
from tenure.plays.models import CsmTask
from tenure.web.actions import client_ip
from tenure.web.rendering import Dashboard, login_redirect
from tenure.web.session import Viewer, csrf_valid

ACTIONS = ("complete", "snooze", "assign")
SNOOZE_DAYS = (1, 3, 7, 14)
FormText = Annotated[str, Form()]


@dataclass(frozen=True)
class TaskChange:
    """One requested task action and its form fields."""

    viewer: Viewer
    task_id: int
    action: str
    csrf_token: str
    outcome: str = ""
    notes: str = ""
    days: str = ""
    owner: str = ""


def snooze_day(days_text: str) -> date:
    """Return the day a snooze of the given number of days ends, or raise InputError."""
    text = (days_text or "1").strip()
    if not text.isdigit() or int(text) not in SNOOZE_DAYS:
        raise InputError(f"snooze days must be one of {SNOOZE_DAYS}, got {text!r}")
    return clock.now().date() + timedelta(days=int(text))


def allowed(viewer: Viewer, task: CsmTask, action: str) -> bool:
    """Return whether the viewer may take the action on the task."""
    if action == "assign":
        return can(viewer.role, "tasks:assign")
    own = task.owner.lower() == viewer.email.lower()
    return can(viewer.role, "tasks:act") and (own or viewer.role != "csm")


def apply(db: Session, task: CsmTask, change: TaskChange) -> CsmTask:
    """Apply one action to a task as the viewer; raise InputError or StateConflict."""
    if change.action == "complete":
        notes = change.notes.strip()[:10_000] or None
        return tasks.complete_task(
            db, task, outcome=change.outcome, notes=notes, actor=change.viewer.email
        )
    if change.action == "snooze":
        return tasks.snooze_task(db, task, snooze_day(change.days))
    owner = change.owner.strip()
    if not 3 <= len(owner) <= 255:
        raise InputError("assign to an owner of 3 to 255 characters")
    return tasks.assign_task(db, task, owner)


def change_task(ui: Dashboard, request: Request, change: TaskChange) -> Response:
    """Apply a task action in one transaction; refusals roll back with a clear page."""
    viewer = change.viewer
    with ui.db(request) as db:
        if not csrf_valid(viewer, request, change.csrf_token):
            return ui.error(request, viewer, 403, "the form has expired: reload and try again")
        try:
            task = tasks.get_task(db, change.task_id)
            if not allowed(viewer, task, change.action):
                return ui.error(request, viewer, 403, "your role cannot change this task")
            done = apply(db, task, change)
        except NotFound as exc:
            db.rollback()
            return ui.error(request, viewer, 404, str(exc))
        except InputError as exc:  # StateConflict is an InputError too
            db.rollback()
            return ui.error(request, viewer, 409, str(exc))
        audit(
            db, actor=viewer.email, action=f"task_{change.action}",
            target=f"task:{change.task_id}", ip=client_ip(request),
            detail={"via": "dashboard", "status": done.status, "owner": done.owner},
        )  # fmt: skip
    return RedirectResponse("/tasks?status=open", status_code=303)


def add_task_action_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add POST /tasks/{id}/{complete|snooze|assign} to the dashboard router."""

    @router.post("/tasks/{task_id}/{action}")
    def task_action(
        request: Request,
        task_id: int,
        action: str,
        csrf_token: FormText = "",
        outcome: FormText = "",
        notes: FormText = "",
        days: FormText = "",
        owner: FormText = "",
    ) -> Response:
        if action not in ACTIONS:
            return Response(status_code=404)
        with ui.db(request) as db:
            viewer = ui.viewer(request, db)
        if viewer is None:
            return login_redirect(request)
        if not 1 <= task_id <= MAX_ID:
            return ui.error(request, viewer, 404, f"no task {task_id}")
        change = TaskChange(viewer, task_id, action, csrf_token, outcome, notes, days, owner)
        return change_task(ui, request, change)
