"""CSM tasks: each CSM's inbox, assign, snooze, complete with an outcome and notes."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.accounts.people import lines_for
from tenure.accounts.schemas import Reader
from tenure.errors import InputError, NotFound, StateConflict
from tenure.plays.models import CsmTask

# The free text of a task that may name the account's people (masked by role).
PERSON_FIELDS = ("title", "checklist", "notes")
OUTCOMES = ("saved", "at_risk", "churning", "no_response", "not_needed", "other")


def list_tasks(
    session: Session, *, owner: str | None = None, status: str | None = None, limit: int = 200
) -> list[tuple[CsmTask, Account]]:
    """Return tasks with their accounts, soonest due first (one owner's inbox when given)."""
    query = sa.select(CsmTask, Account).join(Account, Account.id == CsmTask.account_id)
    if owner is not None:
        query = query.where(sa.func.lower(CsmTask.owner) == owner.lower())
    if status is not None:
        query = query.where(CsmTask.status == status)
    query = query.order_by(CsmTask.due_on, CsmTask.id).limit(limit)
    return [(task, account) for task, account in session.execute(query)]


def get_task(session: Session, task_id: int) -> CsmTask:
    """Return a task by id, NotFound otherwise."""
    task = session.get(CsmTask, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task


def complete_task(
    session: Session, task: CsmTask, *, outcome: str, notes: str | None, actor: str
) -> CsmTask:
    """Mark a task done with its outcome (one of OUTCOMES) and notes."""
    if outcome not in OUTCOMES:
        raise InputError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    if task.status == "done":
        raise StateConflict(f"task {task.id} is already done")
    task.status, task.outcome, task.notes = "done", outcome, notes
    task.completed_at, task.completed_by = clock.now(), actor
    session.flush()
    return task


def snooze_task(session: Session, task: CsmTask, until: date) -> CsmTask:
    """Hide a task until a day; it is due again then."""
    if task.status == "done":
        raise StateConflict(f"task {task.id} is already done")
    task.status, task.snoozed_until = "snoozed", until
    session.flush()
    return task


def assign_task(session: Session, task: CsmTask, owner: str) -> CsmTask:
    """Give a task to another owner."""
    task.owner = owner.strip() or task.owner
    session.flush()
    return task


def wake_snoozed(session: Session, day: date) -> int:
    """Reopen tasks whose snooze ended on or before day; return how many."""
    result = session.execute(
        sa.update(CsmTask)
        .where(CsmTask.status == "snoozed", CsmTask.snoozed_until <= day)
        .values(status="open", snoozed_until=None)
    )
    return result.rowcount or 0


def overdue(session: Session, day: date) -> list[CsmTask]:
    """Return open tasks due before day."""
    query = sa.select(CsmTask).where(CsmTask.status == "open", CsmTask.due_on < day)
    return list(session.scalars(query.order_by(CsmTask.due_on)))


def task_dict(task: CsmTask, account: Account | None = None) -> dict[str, Any]:
    """Return a task as JSON."""
    return {
        "id": task.id,
        "account_id": task.account_id,
        "account_name": account.name if account else None,
        "play_run_id": task.play_run_id,
        "owner": task.owner,
        "title": task.title,
        "checklist": task.checklist,
        "due_on": task.due_on.isoformat(),
        "status": task.status,
        "snoozed_until": task.snoozed_until.isoformat() if task.snoozed_until else None,
        "outcome": task.outcome,
        "notes": task.notes,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
    }


def shown_tasks(
    session: Session, reader: Reader, found: list[tuple[CsmTask, Account]]
) -> list[dict[str, Any]]:
    """Return tasks as JSON, people in them masked unless the reader may see the account's."""
    owned = [(task_dict(t, a), a.id, a.owner) for t, a in found]
    return lines_for(session, reader, owned, PERSON_FIELDS)


def shown_task_lines(
    session: Session, reader: Reader, account: Account, lines: list[dict[str, Any]] | None
) -> list[dict[str, Any]] | None:
    """Return one account's task lines, people masked unless the reader may see its people."""
    if lines is None:
        return None
    return lines_for(
        session, reader, [(t, account.id, account.owner) for t in lines], PERSON_FIELDS
    )
