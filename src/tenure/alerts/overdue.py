"""The overdue_task alert kind: accounts with CSM tasks still open past their due day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.alerts.schemas import Trigger
from tenure.plays.models import CsmTask


def overdue_task(session: Session, day: date, params: dict[str, Any], _: Any) -> list[Trigger]:
    """Accounts with a task due `days`+ days before day and not done by the end of day.

    As of day: the task existed then, was not completed before the day ended and is not snoozed
    past day. The alert goes to the owner of the most overdue task.
    """
    end = datetime.combine(day + timedelta(days=1), time(0), UTC)  # data before it is known
    query = (
        sa.select(CsmTask)
        .where(
            CsmTask.due_on <= day - timedelta(days=params["days"]),
            CsmTask.created_at < end,
            sa.or_(CsmTask.status != "done", CsmTask.completed_at >= end),
            sa.or_(CsmTask.snoozed_until.is_(None), CsmTask.snoozed_until <= day),
        )
        .order_by(CsmTask.account_id, CsmTask.due_on, CsmTask.id)
    )
    by_account: dict[int, list[CsmTask]] = {}
    for task in session.scalars(query):
        by_account.setdefault(task.account_id, []).append(task)
    return [_trigger(account_id, found, day) for account_id, found in by_account.items()]


def _trigger(account_id: int, found: list[CsmTask], day: date) -> Trigger:
    oldest = found[0]
    late = (day - oldest.due_on).days
    more = f" and {len(found) - 1} more" if len(found) > 1 else ""
    return Trigger(
        account_id,
        f"task “{oldest.title}” is {late} days overdue (due {oldest.due_on}){more}",
        {
            "tasks": [t.id for t in found],
            "oldest_due_on": oldest.due_on.isoformat(),
            "days_overdue": late,
            "task_owner": oldest.owner,
        },
        owner=oldest.owner,
    )
