"""Plays and CSM tasks: list plays with their measured effect; each CSM's task inbox."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tenure import clock
from tenure.accounts.models import Account
from tenure.accounts.schemas import MAX_ID, Money, Reader
from tenure.accounts.service import get_account
from tenure.api.deps import SessionDep, SettingsDep, client_ip, requires
from tenure.api.errors import Forbidden, responses
from tenure.auth.roles import can
from tenure.auth.service import audit
from tenure.auth.tokens import Principal
from tenure.plays import account_plays as account_panel
from tenure.plays import effect, service, tasks
from tenure.plays.models import CsmTask

router = APIRouter(tags=["plays"])

PlayKey = Annotated[str, Path(min_length=1, max_length=64)]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
AccountId = Annotated[int, Path(ge=1, le=MAX_ID)]


class TaskCompletion(BaseModel):
    """How a task ended."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal[tasks.OUTCOMES]  # type: ignore[valid-type]
    notes: str | None = Field(None, max_length=10_000)


class TaskSnooze(BaseModel):
    """Hide a task until a day."""

    model_config = ConfigDict(extra="forbid")

    until: date


class TaskAssignment(BaseModel):
    """Give a task to another owner."""

    model_config = ConfigDict(extra="forbid")

    owner: str = Field(min_length=3, max_length=255)


@router.get("/v1/plays", summary="List plays with their measured effect")
def list_plays(
    session: SessionDep, settings: SettingsDep, _: requires("plays:read")
) -> list[dict[str, Any]]:
    """Return every play's definition and its effect vs holdout."""
    effects = {
        e.play: e.as_dict() for e in effect.play_effects(session, Money.from_settings(settings))
    }
    return [
        service.play_dict(p) | {"effect": effects.get(p.key)} for p in service.list_plays(session)
    ]


@router.get("/v1/plays/{key}", summary="One play and its measured effect", responses=responses(404))
def get_play(
    key: PlayKey, session: SessionDep, settings: SettingsDep, _: requires("plays:read")
) -> dict[str, Any]:
    """Return a play, its run counts by arm and its effect vs holdout."""
    play = service.get_play(session, key)
    runs = service.play_runs(session, play)
    counts = {arm: sum(1 for r in runs if r.arm == arm) for arm in ("treated", "holdout")}
    measured = effect.measure(play, runs, Money.from_settings(settings))
    return service.play_dict(play) | {"runs": counts, "effect": measured.as_dict()}


@router.get(
    "/v1/accounts/{account_id}/plays",
    summary="An account's plays, tasks and recommended play",
    responses=responses(404),
)
def account_plays(
    account_id: AccountId,
    session: SessionDep,
    settings: SettingsDep,
    principal: requires("plays:read"),
) -> dict[str, Any]:
    """Return the account's play runs, its tasks (as /v1/tasks shows them) and the next play."""
    get_account(db_session=session, account_id=account_id)
    panel = account_panel.account_plays(session, settings, account_id, clock.now().date())
    visible = account_panel.visible_tasks(
        panel["tasks"], may_read=can(principal.role, "tasks:read"), role=principal.role,
        reader=principal.subject,
    )  # fmt: skip
    reader = Reader(role=principal.role, email=principal.subject)
    account = session.get(Account, account_id)
    panel["tasks"] = tasks.shown_task_lines(session, reader, account, visible)
    return panel


@router.get("/v1/tasks", summary="List CSM tasks")
def list_tasks(
    session: SessionDep,
    principal: requires("tasks:read"),
    owner: Annotated[str | None, Query(max_length=255)] = None,
    status: Literal["open", "snoozed", "done"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Return tasks soonest due first; a csm sees only their own inbox."""
    if principal.role == "csm":
        owner = principal.subject
    found = tasks.list_tasks(session, owner=owner, status=status, limit=limit)
    reader = Reader(role=principal.role, email=principal.subject)
    return tasks.shown_tasks(session, reader, found)


def _own(session: Any, task_id: int, principal: Principal) -> CsmTask:
    task = tasks.get_task(session, task_id)
    if principal.role == "csm" and task.owner.lower() != principal.subject.lower():
        raise Forbidden(f"task {task_id} belongs to another CSM")
    return task


def _shown(session: Any, principal: Principal, task: CsmTask) -> dict[str, Any]:
    """Return a task as JSON, people masked unless the principal may see its account's."""
    reader = Reader(role=principal.role, email=principal.subject)
    return tasks.shown_tasks(session, reader, [(task, session.get(Account, task.account_id))])[0]


def _audit(request: Request, session: Any, principal: Principal, task_id: int, what: str) -> None:
    audit(
        session,
        actor=principal.subject,
        action=f"task_{what}",
        target=f"task:{task_id}",
        ip=client_ip(request),
    )


@router.post(
    "/v1/tasks/{task_id}/complete", summary="Complete a task", responses=responses(403, 404, 409)
)
def complete_task(
    task_id: TaskId,
    body: TaskCompletion,
    request: Request,
    session: SessionDep,
    principal: requires("tasks:act"),
) -> dict[str, Any]:
    """Mark a task done with its outcome and notes."""
    task = _own(session, task_id, principal)
    _audit(request, session, principal, task_id, "complete")
    done = tasks.complete_task(
        session, task, outcome=body.outcome, notes=body.notes, actor=principal.subject
    )
    return _shown(session, principal, done)


@router.post(
    "/v1/tasks/{task_id}/snooze", summary="Snooze a task", responses=responses(403, 404, 409)
)
def snooze_task(
    task_id: TaskId,
    body: TaskSnooze,
    request: Request,
    session: SessionDep,
    principal: requires("tasks:act"),
) -> dict[str, Any]:
    """Hide a task until a day."""
    task = _own(session, task_id, principal)
    _audit(request, session, principal, task_id, "snooze")
    return _shown(session, principal, tasks.snooze_task(session, task, body.until))


@router.post("/v1/tasks/{task_id}/assign", summary="Assign a task", responses=responses(404))
def assign_task(
    task_id: TaskId,
    body: TaskAssignment,
    request: Request,
    session: SessionDep,
    principal: requires("tasks:assign"),
) -> dict[str, Any]:
    """Give a task to another owner (managers and admins)."""
    task = tasks.get_task(session, task_id)
    _audit(request, session, principal, task_id, "assign")
    return _shown(session, principal, tasks.assign_task(session, task, body.owner))
