"""Enrolment: who enters a journey, in which arm (treated or holdout), and re-entry rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.config import Settings
from tenure.db.bulk import dialect_insert
from tenure.errors import NotFound, StateConflict
from tenure.experiments.assignment import bucket
from tenure.experiments.holdout import in_global_holdout
from tenure.messaging import journeys_spec as spec
from tenure.messaging.journeys_store import spec_of
from tenure.messaging.journeys_triggers import Entry
from tenure.messaging.models import Journey, JourneyEnrollment


def holdout_salt(journey_key: str) -> str:
    """Return the assignment salt of a journey's holdout."""
    return f"journey:{journey_key}:holdout"


def journey_arm(journey_key: str, unit: str, holdout: float) -> str:
    """Return `holdout` or `treated` for a unit (the account's external id), deterministically."""
    return "holdout" if bucket(holdout_salt(journey_key), unit) < holdout else "treated"


@dataclass(frozen=True)
class Refusal:
    """Why a contact was not enrolled."""

    reason: str


def _blocking_reason(
    session: Session, journey: Journey, definition: spec.JourneySpec, contact: Contact, at: datetime
) -> str | None:
    """Return why the contact may not (re-)enter now, None when it may."""
    last = session.scalars(
        sa.select(JourneyEnrollment)
        .where(
            JourneyEnrollment.journey_id == journey.id, JourneyEnrollment.contact_id == contact.id
        )
        .order_by(JourneyEnrollment.run_no.desc())
        .limit(1)
    ).first()
    return reentry_refusal(last, definition, at)


def reentry_refusal(
    last: JourneyEnrollment | None, definition: spec.JourneySpec, at: datetime
) -> str | None:
    """Return why a contact whose latest enrolment is `last` may not re-enter now (None: may)."""
    if last is None:
        return None
    if last.status == "active":
        return "already enrolled"
    if definition.reentry == "never":
        return "re-entry is never allowed"
    assert definition.reentry_after_days is not None
    if clock.now() - last.entered_at < timedelta(days=definition.reentry_after_days):
        return f"re-entry only {definition.reentry_after_days} days after the last entry"
    if at <= last.entered_at:
        return "the trigger is older than the last entry"
    return None


def _next_run_no(session: Session, journey: Journey, contact: Contact) -> int:
    latest = session.scalar(
        sa.select(sa.func.max(JourneyEnrollment.run_no)).where(
            JourneyEnrollment.journey_id == journey.id, JourneyEnrollment.contact_id == contact.id
        )
    )
    return (latest or 0) + 1


def enrol(
    session: Session,
    settings: Settings,
    journey: Journey,
    definition: spec.JourneySpec,
    account: Account,
    contact: Contact,
    *,
    why: str,
    at: datetime | None = None,
) -> JourneyEnrollment | Refusal:
    """Enrol a contact (treated or holdout arm) unless the rules forbid it or a racer won."""
    at = at or clock.now()
    if in_global_holdout(account.external_id, settings):
        return Refusal("the account is in the global holdout")
    blocked = _blocking_reason(session, journey, definition, contact, at)
    if blocked is not None:
        return Refusal(blocked)
    now = clock.now()
    values = {
        "journey_id": journey.id, "contact_id": contact.id, "account_id": account.id,
        "run_no": _next_run_no(session, journey, contact),
        "arm": journey_arm(journey.key, account.external_id, journey.holdout_fraction),
        "status": "active", "current_step": definition.steps[0].id, "next_run_at": now,
        "trigger": why[:128], "entered_at": now,
    }  # fmt: skip
    statement = (
        dialect_insert(session, JourneyEnrollment)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["journey_id", "contact_id", "run_no"])
        .returning(JourneyEnrollment.id)
    )
    new_id = session.execute(statement).scalar()
    if new_id is None:
        return Refusal("enrolled by a concurrent tick")
    return session.get_one(JourneyEnrollment, new_id)


def enrol_manually(
    session: Session, settings: Settings, journey: Journey, contact_id: int, actor: str
) -> JourneyEnrollment:
    """Enrol one contact by hand (CLI or API); raise StateConflict saying why it cannot be."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact with id {contact_id}")
    if journey.status != "active":
        raise StateConflict(f"journey {journey.key!r} is paused; resume it first")
    account = session.get_one(Account, contact.account_id)
    result = enrol(
        session, settings, journey, spec_of(journey), account, contact, why=f"manual:{actor}"
    )
    if isinstance(result, Refusal):
        raise StateConflict(
            f"contact {contact_id} was not enrolled in {journey.key!r}: {result.reason}"
        )
    return result


def audience_contacts(
    session: Session, account_ids: Iterable[int], audience: str
) -> dict[int, list[Contact]]:
    """Return each account's contacts with an email (all, or the first one)."""
    found: dict[int, list[Contact]] = defaultdict(list)
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), 500):
        query = (
            sa.select(Contact)
            .where(Contact.account_id.in_(ids[start : start + 500]), Contact.email.is_not(None))
            .order_by(Contact.account_id, Contact.id)
        )
        for contact in session.scalars(query):
            if audience == "all" or not found[contact.account_id]:
                found[contact.account_id].append(contact)
    return found


def enrol_entries(
    session: Session, settings: Settings, journey: Journey, definition: spec.JourneySpec,
    entries: list[Entry],
) -> dict[str, int]:  # fmt: skip
    """Enrol the contacts behind trigger entries; return counts by arm and refusal."""
    counts: dict[str, int] = defaultdict(int)
    audiences = audience_contacts(session, [e.account_id for e in entries], definition.audience)
    accounts = {a.id: a for a in session.scalars(
        sa.select(Account).where(Account.id.in_(sorted({e.account_id for e in entries})))
    )} if entries else {}  # fmt: skip
    for entry in entries:
        account = accounts.get(entry.account_id)
        contacts = audiences.get(entry.account_id, [])
        if entry.contact_id is not None:
            contacts = [c for c in contacts if c.id == entry.contact_id] or contacts
        for contact in contacts if account else []:
            result = enrol(session, settings, journey, definition, account, contact,
                           why=entry.why, at=entry.at)  # fmt: skip
            counts[result.reason if isinstance(result, Refusal) else result.arm] += 1
    return dict(counts)
