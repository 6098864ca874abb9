"""Enrol many accounts' contacts in one journey at once: a few bulk reads and one bulk insert.

The same rules as `journeys_enrol.enrol` (global holdout, re-entry, arm, run number), read for
every contact in chunked queries instead of three queries per contact. A play's journey action
enrols all the accounts a play admits on a day through it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.config import Settings
from tenure.db.bulk import dialect_insert
from tenure.experiments.holdout import in_global_holdout
from tenure.messaging import journeys_spec as spec
from tenure.messaging.journeys_enrol import audience_contacts, journey_arm, reentry_refusal
from tenure.messaging.journeys_triggers import Entry
from tenure.messaging.models import Journey, JourneyEnrollment

CHUNK = 2_000  # ids per IN list (well under SQLite's bound-parameter limit)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    """Yield ids in slices of CHUNK."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def latest_enrolments(
    session: Session, journey_id: int, contact_ids: list[int]
) -> dict[int, JourneyEnrollment]:
    """Return each contact's latest enrolment in the journey (contacts never enrolled: absent)."""
    found: dict[int, JourneyEnrollment] = {}
    for chunk in _chunks(sorted(set(contact_ids))):
        newest = (
            sa.select(
                JourneyEnrollment.contact_id, sa.func.max(JourneyEnrollment.run_no).label("run_no")
            )
            .where(
                JourneyEnrollment.journey_id == journey_id,
                JourneyEnrollment.contact_id.in_(chunk),
            )
            .group_by(JourneyEnrollment.contact_id)
            .subquery()
        )
        query = sa.select(JourneyEnrollment).join(
            newest,
            (JourneyEnrollment.contact_id == newest.c.contact_id)
            & (JourneyEnrollment.run_no == newest.c.run_no),
        )
        query = query.where(JourneyEnrollment.journey_id == journey_id)
        found.update({row.contact_id: row for row in session.scalars(query)})
    return found


def _accounts(session: Session, account_ids: list[int]) -> dict[int, sa.Row]:
    """Return account id -> (id, external_id) of the accounts (chunked IN lists)."""
    found: dict[int, sa.Row] = {}
    for chunk in _chunks(sorted(set(account_ids))):
        query = sa.select(Account.id, Account.external_id).where(Account.id.in_(chunk))
        found.update({row.id: row for row in session.execute(query)})
    return found


def _pairs(
    session: Session, definition: spec.JourneySpec, entries: list[Entry]
) -> list[tuple[Entry, sa.Row, Contact]]:
    """Return (entry, account, contact) for every contact an entry reaches, each contact once."""
    ids = [e.account_id for e in entries]
    audiences = audience_contacts(session, ids, definition.audience)
    accounts = _accounts(session, ids)
    pairs, seen = [], set()
    for entry in entries:
        account = accounts.get(entry.account_id)
        contacts = audiences.get(entry.account_id, []) if account else []
        if entry.contact_id is not None:
            contacts = [c for c in contacts if c.id == entry.contact_id] or contacts
        for contact in contacts:
            if contact.id not in seen:
                seen.add(contact.id)
                pairs.append((entry, account, contact))
    return pairs


def enrol_many(
    session: Session,
    settings: Settings,
    journey: Journey,
    definition: spec.JourneySpec,
    entries: list[Entry],
) -> dict[int, dict[str, int]]:
    """Enrol the contacts behind entries; return account id -> counts by arm and refusal."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    pairs = _pairs(session, definition, entries)
    last = latest_enrolments(session, journey.id, [c.id for _, _, c in pairs])
    now, rows = clock.now(), []
    for entry, account, contact in pairs:
        refusal = (
            "the account is in the global holdout"
            if in_global_holdout(account.external_id, settings)
            else reentry_refusal(last.get(contact.id), definition, entry.at)
        )
        if refusal is not None:
            counts[account.id][refusal] += 1
            continue
        previous = last.get(contact.id)
        rows.append({
            "journey_id": journey.id, "contact_id": contact.id, "account_id": account.id,
            "run_no": (previous.run_no if previous else 0) + 1,
            "arm": journey_arm(journey.key, account.external_id, journey.holdout_fraction),
            "status": "active", "current_step": definition.steps[0].id, "next_run_at": now,
            "trigger": entry.why[:128], "entered_at": now,
        })  # fmt: skip
    for account_id, arm in _insert(session, rows):
        counts[account_id][arm] += 1
    for account_id, lost in _lost(rows, counts).items():
        counts[account_id]["enrolled by a concurrent tick"] += lost
    return {a: dict(c) for a, c in counts.items()}


def _insert(session: Session, rows: list[dict]) -> list[tuple[int, str]]:
    """Insert the enrolments (a racer's row wins); return (account, arm) of those inserted."""
    if not rows:
        return []
    statement = (
        dialect_insert(session, JourneyEnrollment)
        .on_conflict_do_nothing(index_elements=["journey_id", "contact_id", "run_no"])
        .returning(JourneyEnrollment.account_id, JourneyEnrollment.arm)
    )
    inserted = []
    for start in range(0, len(rows), CHUNK):
        inserted += [tuple(r) for r in session.execute(statement, rows[start : start + CHUNK])]
    return inserted


def _lost(rows: list[dict], counts: dict[int, dict[str, int]]) -> dict[int, int]:
    """Return, per account, how many of its rows were not inserted (a concurrent tick won)."""
    tried: dict[int, int] = defaultdict(int)
    for row in rows:
        tried[row["account_id"]] += 1
    return {
        a: n - counts[a].get("treated", 0) - counts[a].get("holdout", 0)
        for a, n in tried.items()
        if n > counts[a].get("treated", 0) + counts[a].get("holdout", 0)
    }
