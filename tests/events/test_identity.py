"""Identity resolution: held inbox events find their account through contacts, groups and aliases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tenure.accounts.models import Account, Contact
from tenure.db.session import session_scope
from tenure.events.identity import Link, link_identities, release_held
from tenure.events.models import InboxEvent
from tenure.events.service import expire_unknown_account_events, record_events, sync_inbox
from tenure.health.models import UsageDaily
from tenure.warehouse.connection import open_warehouse

from .. import factories

T0 = datetime(2025, 6, 30, 9, 0, tzinfo=UTC)


def _record(engine, events, links=()) -> tuple[int, int]:
    """Link, record and release as a tracking request does; return (accepted, released)."""
    users = {link.user_id for link in links} | {link.alias_of for link in links if link.alias_of}
    new = [e["message_id"] for e in events]
    with session_scope(engine) as session:
        link_identities(session, list(links))
        result = record_events(events, db_session=session, login_events=["login"])
        released = release_held(session, login_events=["login"], user_ids=users, message_ids=new)
    return result.accepted, released.released


def _accounts(engine) -> dict[str, str | None]:
    with session_scope(engine) as session:
        rows = session.execute(sa.select(InboxEvent.message_id, InboxEvent.account_external_id))
        return dict(rows.all())


def _event(message_id: str, user: str, **fields) -> dict:
    return {
        "message_id": message_id,
        "contact_id": user,
        "event": "login",
        "timestamp": T0,
    } | fields


@pytest.fixture
def known(any_engine):
    """Accounts A and B; contact u-a at A (email shared@x.io), contact u-b at B (mail@b.io)."""
    with session_scope(any_engine) as session:
        a, b = factories.add_account(session, "A"), factories.add_account(session, "B")
        factories.add_contact(session, a, external_id="u-a", email="shared@x.io")
        factories.add_contact(session, b, external_id="u-b", email="mail@b.io")
    return any_engine


def test_external_id_beats_email_and_email_resolves_unknown_ids(known):
    """userId → its contact's account, even when the email names another; else the email."""
    events = [
        _event("by-id", "u-a", contact_email="mail@b.io"),
        _event("by-email", "stranger", contact_email="mail@b.io"),
        _event("explicit", "u-a", account_id="B"),
        _event("unknown", "nobody", contact_email="no@where.io"),
    ]
    assert _record(known, events) == (4, 2)
    assert _accounts(known) == {"by-id": "A", "by-email": "B", "explicit": "B", "unknown": None}


def test_held_events_are_released_by_a_group_call_with_usage_rolled_up(known):
    """A group call files the user as a contact of the account and releases its held events."""
    assert _record(known, [_event("h1", "newbie"), _event("h2", "newbie")]) == (2, 0)
    assert _accounts(known) == {"h1": None, "h2": None}
    link = Link("newbie", account_external_id="B", email="newbie@b.io")
    assert _record(known, [_event("g1", "newbie", account_id="B", event="group")], [link]) == (1, 2)
    assert _accounts(known) == {"h1": "B", "h2": "B", "g1": "B"}
    with session_scope(known) as session:
        contact = session.scalar(sa.select(Contact).where(Contact.external_id == "newbie"))
        account_b = session.scalar(sa.select(Account.id).where(Account.external_id == "B"))
        assert (contact.account_id, contact.email) == (account_b, "newbie@b.io")
        usage = session.scalar(sa.select(UsageDaily).where(UsageDaily.account_id == account_b))
        assert (usage.events, usage.logins) == (3, 2)  # the group call is no login
        held_ids = session.scalars(sa.select(InboxEvent.account_id)).all()
        assert set(held_ids) == {account_b}


def test_a_group_call_moves_a_known_contact(known):
    """A group call naming another account moves the contact there; later events follow."""
    _record(known, [], [Link("u-a", account_external_id="B")])
    _record(known, [_event("after", "u-a")])
    assert _accounts(known) == {"after": "B"}


def test_an_alias_links_either_id_to_the_known_one(known):
    """Events of an anonymous id are released once it is aliased to a known user, both ways."""
    _record(known, [_event("anon-1", "anon-42"), _event("anon-2", "anon-43")])
    _record(known, [], [Link("u-b", alias_of="anon-42"), Link("anon-42", alias_of="u-b")])
    _record(known, [], [Link("anon-43", alias_of="later"), Link("later", alias_of="anon-43")])
    assert _accounts(known) == {"anon-1": "B", "anon-2": None}
    _record(known, [], [Link("later", account_external_id="A")])
    _record(known, [_event("anon-3", "anon-43")])
    assert _accounts(known) == {"anon-1": "B", "anon-2": "A", "anon-3": "A"}


def test_a_group_to_an_unknown_account_makes_the_event_wait_for_that_account(known):
    """A user grouped to an account Tenure does not know yet resolves to it; no contact is made."""
    _record(known, [_event("early", "u-new")], [Link("u-new", account_external_id="NEW")])
    assert _accounts(known) == {"early": "NEW"}
    with session_scope(known) as session:
        assert session.scalar(sa.select(Contact).where(Contact.external_id == "u-new")) is None
        assert session.scalar(sa.select(InboxEvent.account_id)) is None


@pytest.mark.usefixtures("frozen_clock")
def test_a_contacts_import_releases_held_events_at_sync(any_settings, known):
    """The sync stage re-resolves held rows: an imported contact's events move to the warehouse."""
    _record(known, [_event("m1", "imported"), _event("m2", "still-unknown")])
    with open_warehouse(any_settings) as warehouse:
        first = sync_inbox(engine=known, warehouse=warehouse, login_events=["login"])
        assert (first.moved, first.waiting_for_account) == (0, 2)
        with session_scope(known) as session:
            account = session.scalar(sa.select(Account).where(Account.external_id == "A"))
            factories.add_contact(session, account, external_id="imported")
        second = sync_inbox(engine=known, warehouse=warehouse, login_events=["login"])
        assert (second.moved, second.waiting_for_account) == (1, 1)
        rows = warehouse.con.execute(
            "SELECT message_id, account_external_id, contact_external_id FROM events"
        ).fetchall()
    assert rows == [("m1", "A", "imported")]


def test_held_events_expire_like_events_of_unknown_accounts(frozen_clock, known):
    """Held rows past the unknown-account window are dropped; fresh ones stay."""
    _record(known, [_event("old", "ghost")])
    frozen_clock.advance(timedelta(days=31))
    _record(known, [_event("new", "ghost")])
    assert expire_unknown_account_events(engine=known, older_than=timedelta(days=30)) == 1
    assert _accounts(known) == {"new": None}
