"""Mailgun's webhook: signature (valid, invalid, old, replayed), suppression, idempotency.

data/mailgun_failed_permanent.json is a permanent-failure event in the shape Mailgun posts
(`signature` + `event-data`, see the module doc of tenure.messaging.mailgun); the test signs it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from tenure.accounts.models import Contact
from tenure.alerts.models import AlertDelivery
from tenure.clock import FrozenClock, use_clock
from tenure.db.session import session_scope
from tenure.messaging import consent
from tenure.messaging.mailgun import sign
from tenure.messaging.models import Message, Suppression

from .consent_world import MAILGUN_KEY, SENT, World

RECORDED = json.loads(
    (Path(__file__).parent / "data" / "mailgun_failed_permanent.json").read_text()
)
SIGNED_AT = datetime.fromtimestamp(int(RECORDED["signature"]["timestamp"]), tz=UTC)
URL = "/v1/webhooks/email/mailgun"


def _signed(payload: dict, key: str = MAILGUN_KEY, **changes) -> dict:
    body = copy.deepcopy(payload)
    body["signature"].update(changes)
    block = body["signature"]
    block["signature"] = sign(key, block["timestamp"], block["token"])
    return body


def _delivery(world: World) -> str:
    """Queue an outbox row of the world's message; return the Message-ID Tenure gives it."""
    with session_scope(world.engine) as session:
        row = AlertDelivery(
            purpose="message", channel="email", target="ada@acme.io", idempotency_key="message-m-1",
            subject="News", body="Hi", payload={}, status="sent", next_attempt_at=SENT,
            created_at=SENT, sent_at=SENT, message_id=world.message_id,
        )  # fmt: skip
        session.add(row)
        session.flush()
        digest = hashlib.sha256(b"message-m-1").hexdigest()[:24]
        return f"tenure.{row.id}.{digest}@tenure.invalid"


def _suppressions(world: World) -> list[tuple[str, str, str]]:
    with session_scope(world.engine) as session:
        query = sa.select(Suppression.email, Suppression.reason, Suppression.source)
        return [tuple(r) for r in session.execute(query)]


def test_permanent_failure_suppresses_and_marks_the_message_bounced(world: World, public_client):
    payload = copy.deepcopy(RECORDED)
    payload["event-data"]["message"]["headers"]["message-id"] = _delivery(world)
    with use_clock(FrozenClock(SIGNED_AT + timedelta(seconds=30))):
        first = public_client.post(URL, json=_signed(payload))
        again = public_client.post(URL, json=_signed(payload, token="another-token-for-the-retry"))
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "suppressed: hard_bounce" and not first.json()["duplicate"]
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert _suppressions(world) == [("ada@acme.io", "hard_bounce", "webhook:mailgun")]
    with session_scope(world.engine) as session:
        message = session.get(Message, world.message_id)
        assert message.status == "bounced" and "550" in message.status_reason
        contact = session.get(Contact, world.contact_id)
        assert consent.may_send(session, contact, "transactional", None) == "suppressed:hard_bounce"


def test_bad_signature_old_timestamp_and_replayed_token_are_refused(world: World, public_client):
    at = FrozenClock(SIGNED_AT + timedelta(seconds=30))
    with use_clock(at):
        wrong_key = public_client.post(URL, json=_signed(RECORDED, key="not-the-key"))
        tampered = _signed(RECORDED)
        tampered["signature"]["token"] = "swapped-token"
        swapped = public_client.post(URL, json=tampered)
        unsigned = public_client.post(URL, json={"event-data": RECORDED["event-data"]})
    with use_clock(FrozenClock(SIGNED_AT + timedelta(hours=1))):
        old = public_client.post(URL, json=_signed(RECORDED))
    for response in (wrong_key, swapped, unsigned, old):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert "replay" in old.json()["detail"]
    with use_clock(at):
        assert public_client.post(URL, json=_signed(RECORDED)).status_code == 200
        other = copy.deepcopy(RECORDED)
        other["event-data"]["id"] = "another-event-id"
        replayed = public_client.post(URL, json=_signed(other))  # same signing token, new event
    assert replayed.status_code == 400 and "used before" in replayed.json()["detail"]
    assert len(_suppressions(world)) == 1


def test_complaint_suppresses_and_temporary_failure_is_ignored(world: World, public_client):
    complaint = copy.deepcopy(RECORDED)
    complaint["event-data"].update({"id": "c-1", "event": "complained"})
    complaint["event-data"].pop("severity")
    temporary = copy.deepcopy(RECORDED)
    temporary["event-data"].update({"id": "t-1", "severity": "temporary"})
    with use_clock(FrozenClock(SIGNED_AT)):
        soft = public_client.post(URL, json=_signed(temporary, token="t-token"))
        hard = public_client.post(URL, json=_signed(complaint, token="c-token"))
    assert soft.json()["outcome"] == "ignored: failed (temporary)"
    assert hard.json()["outcome"] == "suppressed: complaint"
    assert _suppressions(world) == [("ada@acme.io", "complaint", "webhook:mailgun")]


def test_webhook_is_off_without_a_signing_key(world: World, public_client):
    public_client.app.state.settings = world.settings.model_copy(
        update={"mailgun_webhook_signing_key": None}
    )
    assert public_client.post(URL, json=_signed(RECORDED)).status_code == 503


def test_unsubscribed_event_records_a_marketing_unsubscribe(world: World, public_client):
    event = copy.deepcopy(RECORDED)
    event["event-data"].update({"id": "u-1", "event": "unsubscribed"})
    with use_clock(FrozenClock(SIGNED_AT)):
        response = public_client.post(URL, json=_signed(event, token="u-token"))
    assert response.json()["outcome"] == "unsubscribed"
    assert _suppressions(world) == []  # an unsubscribe is consent, not a suppression
    with session_scope(world.engine) as session:
        contact = session.get(Contact, world.contact_id)
        assert consent.may_send(session, contact, "marketing", None) == "no_consent"
        assert consent.consent_state(session, contact)["marketing"]["source"] == "webhook"
