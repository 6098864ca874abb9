"""Identity resolution for tracked events: which account a user's events belong to.

An inbox event names its account explicitly, or it is *held* (`account_external_id` NULL) until
its user resolves. A user resolves, in order, through: the contact with that external id; the
contact with the event's email; the user's identity link from a group call; the contact or group
link of the id the user is aliased to (one hop). Group and alias calls write the links
(`link_identities`); `release_held` re-resolves held rows in one UPDATE, after each tracking
batch (for that batch's users) and in the pipeline's sync stage (for all, after imports).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, union_all, update
from sqlalchemy.orm import Session, aliased

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.db.bulk import upsert
from tenure.events.models import IdentityLink, InboxEvent
from tenure.health.realtime import queue_refresh, roll_up

CHUNK = 1000  # ids per IN list


@dataclass(frozen=True)
class Link:
    """A group call (user → account) or an alias (user ↔ alias_of); email names a new contact."""

    user_id: str
    account_external_id: str | None = None
    alias_of: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Released:
    """Held events that found their account, and the known accounts whose usage moved."""

    released: int
    touched_accounts: frozenset[int] = frozenset()


def _contact_account(match: ColumnElement[bool], contact: Any, *joins: tuple[Any, Any]) -> Any:
    """Return the external id of the account of the first contact matching match."""
    account = aliased(Account)
    query = select(account.external_id).join(contact, contact.account_id == account.id)
    for target, on in joins:
        query = query.join(target, on)
    return query.where(match).order_by(contact.id).limit(1).scalar_subquery()


def resolved_account(user_id: Any, email: Any) -> ColumnElement[Any]:
    """Return SQL for the account external id of a user id and email (NULL when unresolved)."""
    by_id, by_email, via_alias = aliased(Contact), aliased(Contact), aliased(Contact)
    link, hop, hop_link = aliased(IdentityLink), aliased(IdentityLink), aliased(IdentityLink)
    group_link = select(link.account_external_id).where(link.user_id == user_id)
    alias_contact = _contact_account(
        hop.user_id == user_id, via_alias, (hop, hop.alias_of == via_alias.external_id)
    )
    alias_group = (
        select(hop_link.account_external_id)
        .join(hop, hop.alias_of == hop_link.user_id)
        .where(hop.user_id == user_id)
    )
    return func.coalesce(
        _contact_account(by_id.external_id == user_id, by_id),
        _contact_account(by_email.email == email, by_email),
        group_link.scalar_subquery(),
        alias_contact,
        alias_group.scalar_subquery(),
    )


def _latest(links: Iterable[Link], field: str) -> dict[str, Link]:
    """Return the last link per user that sets field (a batch may repeat a user)."""
    return {link.user_id: link for link in links if getattr(link, field)}


def link_identities(session: Session, links: list[Link]) -> None:
    """Store group and alias links; a group call also files the user as a contact of its account."""
    now = clock.now()
    groups, aliases = _latest(links, "account_external_id"), _latest(links, "alias_of")
    if groups:
        rows = [
            {"user_id": u, "account_external_id": g.account_external_id, "updated_at": now}
            for u, g in groups.items()
        ]
        session.execute(
            upsert(
                session,
                IdentityLink,
                keys=["user_id"],
                update=["account_external_id", "updated_at"],
            ),
            rows,
        )
        _file_contacts(session, list(groups.values()))
    if aliases:
        rows = [
            {"user_id": u, "alias_of": a.alias_of, "updated_at": now} for u, a in aliases.items()
        ]
        session.execute(
            upsert(session, IdentityLink, keys=["user_id"], update=["alias_of", "updated_at"]),
            rows,
        )


def _file_contacts(session: Session, groups: list[Link]) -> None:
    """Create or move the contact of each grouped user to the group's account, if it is known.

    One upsert on the contact's external id, so concurrent group calls for a new user agree.
    """
    accounts = dict(
        session.execute(
            select(Account.external_id, Account.id).where(
                Account.external_id.in_({g.account_external_id for g in groups})
            )
        ).all()
    )
    now = clock.now()
    rows = [
        {
            "account_id": accounts[g.account_external_id],
            "external_id": g.user_id,
            "email": g.email,
            "consent": {},
            "created_at": now,
        }
        for g in groups
        if g.account_external_id in accounts
    ]
    if rows:
        session.execute(upsert(session, Contact, keys=["external_id"], update=["account_id"]), rows)


def release_held(
    session: Session,
    *,
    login_events: Collection[str],
    user_ids: Collection[str] | None = None,
    message_ids: Collection[str] = (),
) -> Released:
    """Give held inbox events the account their user now resolves to.

    Without user_ids every held event is tried (the sync stage); with them, the held events of
    those users (just linked) and of ids aliased to them, and those with message_ids (just
    recorded). Released events of
    known accounts are rolled up for real-time health and their accounts queued for a score
    refresh, in the caller's transaction.
    """
    held = InboxEvent.account_external_id.is_(None) & InboxEvent.synced_at.is_(None)
    if user_ids is not None:
        if not user_ids and not message_ids:
            return Released(released=0)
        held = held & InboxEvent.id.in_(_candidates(set(user_ids), set(message_ids)))
    resolved = resolved_account(InboxEvent.contact_external_id, InboxEvent.contact_email)
    statement = (
        update(InboxEvent)
        .where(held)
        .values(account_external_id=resolved)
        .returning(InboxEvent.id, InboxEvent.account_external_id)
        .execution_options(synchronize_session=False)
    )
    ids = [row_id for row_id, account in session.execute(statement).all() if account is not None]
    rows = _with_account_ids(session, ids)
    touched = roll_up(rows, db_session=session, login_events=login_events)
    queue_refresh(db_session=session, account_ids=touched)
    return Released(released=len(ids), touched_accounts=frozenset(touched))


def _candidates(users: set[str], message_ids: set[str]) -> Any:
    """Return SQL for the inbox ids of users, of ids aliased to them, and of message_ids.

    A union of index lookups, so a request never scans the whole unsynced inbox.
    """
    aliased_to = select(IdentityLink.user_id).where(IdentityLink.alias_of.in_(users))
    return union_all(
        select(InboxEvent.id).where(InboxEvent.contact_external_id.in_(users)),
        select(InboxEvent.id).where(InboxEvent.contact_external_id.in_(aliased_to)),
        select(InboxEvent.id).where(InboxEvent.message_id.in_(message_ids)),
    )


def _with_account_ids(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """Set the account id of released rows whose account is known; return those rows."""
    account_id = (
        select(Account.id)
        .where(Account.external_id == InboxEvent.account_external_id)
        .scalar_subquery()
    )
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        statement = (
            update(InboxEvent)
            .where(InboxEvent.id.in_(chunk))
            .values(account_id=account_id)
            .returning(
                InboxEvent.account_id,
                InboxEvent.name,
                InboxEvent.ts,
                InboxEvent.contact_external_id,
            )
            .execution_options(synchronize_session=False)
        )
        rows.extend(dict(r) for r in session.execute(statement).mappings() if r["account_id"])
    return rows
