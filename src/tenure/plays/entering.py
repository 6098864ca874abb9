"""Enter the accounts a play admits on a day in bulk: runs, tasks, offers, journeys, webhooks.

One insert of the day's runs (treated and holdout), one insert of their tasks, one batch
enrolment per journey action, one update of the runs' actions and cost: no query per account.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.config import Settings
from tenure.messaging.journeys_enrol_many import enrol_many
from tenure.messaging.journeys_store import spec_of
from tenure.messaging.journeys_triggers import Entry
from tenure.messaging.models import Journey
from tenure.plays import actions
from tenure.plays.definitions import JourneyAction, OfferAction, PlayDefinition, TaskAction
from tenure.plays.models import CsmTask, Play, PlayRun

CHUNK = 2_000  # rows or ids per statement


@dataclass
class Entered:
    """An account entering a play: its run and what the run's actions did and cost."""

    account: actions.AccountRef
    arm: str
    run: actions.RunRef
    records: list[dict[str, Any]]
    cost: int = 0


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    """Yield items in slices of size."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_accounts(session: Session, account_ids: list[int]) -> list[actions.AccountRef]:
    """Return the accounts by id, in id order (chunked IN lists, only the columns acted on)."""
    columns = (Account.id, Account.external_id, Account.name, Account.owner)
    found: list[actions.AccountRef] = []
    for chunk in chunks(sorted(account_ids)):
        rows = session.execute(sa.select(*columns).where(Account.id.in_(chunk)))
        found += [actions.AccountRef(*row) for row in rows]
    return sorted(found, key=lambda a: a.id)


def insert_runs(
    session: Session,
    play: Play,
    definition: PlayDefinition,
    day: date,
    arms: dict[int, str],
    why: dict[int, str],
    mrr: dict[int, int],
) -> dict[int, int]:
    """Insert one run per account (actions and cost filled in later); return account -> run id."""
    goal_on = day + timedelta(days=definition.goal.horizon_days)
    rows = [
        {"play_id": play.id, "account_id": a, "arm": arm, "started_on": day, "goal_on": goal_on,
         "trigger": why[a][:255], "mrr_at_start": mrr[a], "cost": 0, "actions": [],
         "status": "active"}
        for a, arm in arms.items()
    ]  # fmt: skip
    statement = sa.insert(PlayRun).returning(PlayRun.account_id, PlayRun.id)
    ids: dict[int, int] = {}
    for chunk in chunks(rows):
        ids.update({a: i for a, i in session.execute(statement, chunk)})
    return ids


def _tasks(
    session: Session,
    definition: PlayDefinition,
    action: TaskAction,
    treated: list[Entered],
    day: date,
) -> None:
    """Create the action's task for every treated run in one insert."""
    now, due = clock.now(), day + timedelta(days=action.due_in_days)
    rows = [
        {"account_id": e.account.id, "play_run_id": e.run.id,
         "owner": e.account.owner or actions.UNASSIGNED, "title": action.title,
         "checklist": action.checklist, "due_on": due, "status": "open", "created_at": now}
        for e in treated
    ]  # fmt: skip
    statement = sa.insert(CsmTask).returning(CsmTask.play_run_id, CsmTask.id, CsmTask.owner)
    made: dict[int, tuple[int, str]] = {}
    for chunk in chunks(rows):
        made.update({run_id: (i, owner) for run_id, i, owner in session.execute(statement, chunk)})
    cost = round(action.minutes / 60 * definition.cost.csm_hourly_rate)
    for entered in treated:
        task_id, owner = made[entered.run.id]
        entered.records.append(
            {"kind": "task", "status": "created", "task_id": task_id, "owner": owner}
        )
        entered.cost += cost


def _journey(
    session: Session,
    settings: Settings,
    definition: PlayDefinition,
    action: JourneyAction,
    treated: list[Entered],
) -> None:
    """Enrol every treated account's contacts in the action's journey in one batch."""
    journey = session.scalar(sa.select(Journey).where(Journey.key == action.journey))
    skipped = None
    if journey is None:
        skipped = "journey not loaded"
    elif journey.status != "active":
        skipped = "journey paused"
    if skipped is not None:
        for entered in treated:
            entered.records.append({"kind": "journey", "status": "skipped", "reason": skipped})
        return
    at, why = clock.now(), f"play:{definition.key}"
    entries = [Entry(e.account.id, None, at, why) for e in treated]
    counts = enrol_many(session, settings, journey, spec_of(journey), entries)
    for entered in treated:
        contacts = counts.get(entered.account.id, {})
        enrolled = contacts.get("treated", 0) + contacts.get("holdout", 0)
        entered.records.append({
            "kind": "journey", "status": "enrolled" if enrolled else "skipped",
            "journey": action.journey, "contacts": contacts,
        })  # fmt: skip
        entered.cost += action.emails * definition.cost.email * contacts.get("treated", 0)


def perform_all(
    session: Session,
    settings: Settings,
    definition: PlayDefinition,
    treated: list[Entered],
    day: date,
) -> None:
    """Take every action of the play for all treated runs at once, recording each run's cost."""
    for action in definition.actions:
        if isinstance(action, TaskAction):
            _tasks(session, definition, action, treated, day)
        elif isinstance(action, JourneyAction):
            _journey(session, settings, definition, action, treated)
        elif isinstance(action, OfferAction):
            record, cost = actions.offer(action)
            for entered in treated:
                entered.records.append(dict(record))
                entered.cost += cost
        else:
            for entered in treated:
                record, cost = actions.webhook(
                    session, settings, action, definition.key, entered.run, entered.account
                )
                entered.records.append(record)
                entered.cost += cost


def record_actions(session: Session, treated: list[Entered]) -> None:
    """Store each treated run's action records and cost (one bulk update by id)."""
    rows = [{"id": e.run.id, "actions": e.records, "cost": e.cost} for e in treated]
    for chunk in chunks(rows):
        session.execute(sa.update(PlayRun), chunk)
