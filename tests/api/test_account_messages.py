"""The account 360 lists the messages sent to the account's contacts (messages:read)."""

from __future__ import annotations

from datetime import UTC, datetime

from tenure.auth.roles import ROLES
from tenure.db.session import session_scope
from tenure.messaging.models import Journey, Message

from .. import factories
from .conftest import add_account

AT = datetime(2025, 6, 1, 9, tzinfo=UTC)


def add_message(session, account, contact, n: int, **fields) -> Message:
    """Add one message row to a contact of an account."""
    values = {
        "idempotency_key": f"k-{account.id}-{n}", "account_id": account.id,
        "contact_id": contact.id, "to_email": contact.email, "template_name": "welcome",
        "template_version": 2, "purpose": "marketing", "subject": f"Hello {n}",
        "status": "sent", "created_at": AT.replace(hour=9 + n), "sent_at": AT.replace(hour=9 + n),
    } | fields  # fmt: skip
    message = Message(**values)
    session.add(message)
    session.flush()
    return message


def test_the_360_lists_messages_to_readers_who_may_see_them(client, role_headers, app_engine):
    """Newest first with journey and counters; a csm sees only their own accounts' messages."""
    with session_scope(app_engine) as session:
        mine = add_account(session, "mine", owner="csm@example.com")
        other = add_account(session, "other", owner="admin@example.com")
        ada = factories.add_contact(session, mine, email="ada@mine.io")
        bo = factories.add_contact(session, other, email="bo@other.io")
        journey = Journey(
            key="onboarding", name="Onboarding", definition={}, created_at=AT, updated_at=AT
        )
        session.add(journey)
        session.flush()
        add_message(session, mine, ada, 0)
        add_message(session, mine, ada, 1, journey_id=journey.id, opens=3, clicks=1)
        add_message(session, other, bo, 0)
        ids = {"mine": mine.id, "other": other.id}
    admin = client.get(f"/v1/accounts/{ids['mine']}", headers=role_headers["admin"]).json()
    newest, oldest = admin["messages"]
    assert newest == newest | {
        "template": "welcome", "template_version": 2, "to": "ada@mine.io",
        "subject": "Hello 1", "status": "sent", "opens": 3, "clicks": 1,
        "journey": "onboarding", "sent_at": "2025-06-01T10:00:00Z",
    }  # fmt: skip
    assert oldest["journey"] is None and oldest["subject"] == "Hello 0"
    for role in ROLES:
        for name, account_id in ids.items():
            view = client.get(f"/v1/accounts/{account_id}", headers=role_headers[role]).json()
            may = role in ("admin", "manager") or (role == "csm" and name == "mine")
            assert (view["messages"] is not None) is may, (role, name)
            if may:
                to = {"mine": "ada@mine.io", "other": "bo@other.io"}[name]
                assert {m["to"] for m in view["messages"]} == {to}, (role, name)
