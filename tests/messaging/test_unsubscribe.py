"""One-click unsubscribe: GET only asks, POST unsubscribes; the preference page; bad links."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tenure.accounts.models import Contact
from tenure.clock import FrozenClock, use_clock
from tenure.db.session import session_scope
from tenure.events.models import InboxEvent
from tenure.messaging import consent, links

from .consent_world import SENT, World


def _state(world: World) -> dict:
    with session_scope(world.engine) as session:
        return consent.consent_state(session, session.get(Contact, world.contact_id))


def _may_send(world: World, topic: str | None) -> str | None:
    with session_scope(world.engine) as session:
        contact = session.get(Contact, world.contact_id)
        return consent.may_send(session, contact, "marketing", topic)


def test_get_shows_a_confirm_page_and_does_not_unsubscribe(world: World, public_client):
    token = links.unsubscribe_token(world.settings, world.contact_id, "product-news")
    page = public_client.get(f"/u/{token}")
    assert page.status_code == 200 and 'id="confirm-unsubscribe"' in page.text
    assert "Ada@Acme.io" in page.text and "product news" in page.text
    assert "product-news" not in _state(world)
    assert _may_send(world, "product-news") is None


def test_one_click_post_unsubscribes_the_topic_once(world: World, public_client):
    token = links.unsubscribe_token(
        world.settings, world.contact_id, "product-news", world.message_id
    )
    body = {"List-Unsubscribe": "One-Click"}
    first = public_client.post(f"/u/{token}", data=body)
    again = public_client.post(f"/u/{token}", data=body)
    assert first.status_code == again.status_code == 200
    assert 'id="unsubscribed"' in first.text
    state = _state(world)
    assert state["product-news"]["granted"] is False
    assert state["product-news"]["source"] == "unsubscribe"
    assert _may_send(world, "product-news") == "unsubscribed:product-news"
    assert _may_send(world, "tips") is None  # other topics keep going
    with session_scope(world.engine) as session:
        rows = session.scalar(
            sa.select(sa.func.count()).select_from(consent.ContactConsent)
            .where(consent.ContactConsent.purpose == "product-news")
        )  # fmt: skip
    assert rows == 1  # a repeated one-click POST records nothing new
    with session_scope(world.engine) as session:
        events = session.scalars(
            sa.select(InboxEvent).where(InboxEvent.name == "Email Unsubscribed")
        ).all()
        assert [(e.properties["message"], e.properties["unsubscribed_from"]) for e in events] == [
            (world.message_id, "product-news")
        ]


def test_marketing_unsubscribe_stops_every_marketing_email(world: World, public_client):
    token = links.unsubscribe_token(world.settings, world.contact_id, "marketing")
    assert public_client.post(f"/u/{token}").status_code == 200
    assert _may_send(world, None) == "no_consent" and _may_send(world, "tips") == "no_consent"


def test_preference_page_changes_topics_and_resubscribes(world: World, public_client):
    token = links.unsubscribe_token(world.settings, world.contact_id, "marketing")
    page = public_client.get(f"/preferences/{token}")
    assert page.status_code == 200
    assert 'id="topic-product-news" checked' in page.text and 'id="topic-tips" checked' in page.text
    saved = public_client.post(f"/preferences/{token}", data={"marketing": "on", "topic": ["tips"]})
    assert saved.status_code == 200 and 'id="preferences-saved"' in saved.text
    assert _may_send(world, "product-news") == "unsubscribed:product-news"
    assert _may_send(world, "tips") is None
    off = public_client.post(
        f"/preferences/{token}", data={"action": "unsubscribe_all", "topic": ["tips"]},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert off.status_code == 200 and off.text.lstrip().startswith("<form")  # HTMX: the form
    assert _may_send(world, "tips") == "no_consent"
    public_client.post(
        f"/preferences/{token}", data={"marketing": "on", "topic": ["tips", "product-news"]}
    )
    assert _may_send(world, "product-news") is None
    assert _state(world)["marketing"]["source"] == "preference_page"


def test_tampered_and_expired_links_get_pages_not_errors(world: World, public_client):
    token = links.unsubscribe_token(world.settings, world.contact_id, "marketing")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for method in ("get", "post"):
        for path in (f"/u/{tampered}", f"/preferences/{tampered}", "/u/not-a-token"):
            response = getattr(public_client, method)(path)
            assert response.status_code == 404, (method, path)
            assert 'id="link-error"' in response.text
    with use_clock(FrozenClock(SENT)):
        old = links.unsubscribe_token(world.settings, world.contact_id, "marketing")
    later = SENT + timedelta(days=world.settings.unsubscribe_token_days + 1)
    with use_clock(FrozenClock(later)):
        expired = public_client.post(f"/u/{old}")
    assert expired.status_code == 400 and "expired" in expired.text
    assert _state(world)["marketing"]["granted"] is True  # nothing was recorded
