"""The account page lists the messages sent to the account's contacts, to those who may see."""

from __future__ import annotations

from datetime import UTC, datetime

from tenure.db.session import session_scope
from tenure.messaging.models import Message

from ..factories import add_account, add_contact

AT = datetime(2025, 6, 1, 9, tzinfo=UTC)
SUBJECT = "Your renewal checklist, page-test"


def add_message(engine, owner: str) -> int:
    """Add an account of owner with one contact sent one message; return the account id."""
    with session_scope(engine) as session:
        account = add_account(session, owner=owner)
        account_id = account.id
        contact = add_contact(session, account, email="ada@acme.io")
        session.add(
            Message(
                idempotency_key=f"page-test-{account_id}", account_id=account_id,
                contact_id=contact.id, to_email="ada@acme.io",
                template_name="renewal", template_version=3, purpose="marketing",
                subject=SUBJECT, status="sent", created_at=AT, sent_at=AT, opens=2,
            )
        )  # fmt: skip
    return account_id


def test_messages_on_the_account_page_follow_messages_read(app, login, people):
    """Csm: on their account, not on the admin's; admin: both; viewer: not shown."""
    theirs = add_message(app.state.engine, people.csm)
    others = add_message(app.state.engine, people.admin)
    csm, admin, viewer = login(people.csm), login(people.admin), login(people.viewer)
    assert SUBJECT in csm.get(f"/accounts/{theirs}").text
    page = csm.get(f"/accounts/{others}").text
    assert SUBJECT not in page and "may not read this account" in page
    assert SUBJECT in admin.get(f"/accounts/{others}").text
    assert "renewal v3" in admin.get(f"/accounts/{theirs}").text
    assert SUBJECT not in viewer.get(f"/accounts/{theirs}").text
