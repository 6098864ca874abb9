"""Tracking: signed click redirects (tampered → 404), the open pixel, machine opens, events."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from tenure.accounts.models import Contact
from tenure.clock import FrozenClock, use_clock
from tenure.db.session import session_scope
from tenure.events.models import InboxEvent
from tenure.messaging import links
from tenure.messaging.decorate import decorate
from tenure.messaging.models import Message
from tenure.messaging.schemas import RenderedMessage
from tenure.messaging.tracking import instrument, machine_reason
from tenure.messaging.unsubscribe import unsubscribe_headers

from .consent_world import SENT, World

HUMAN = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko)"
HTML = (
    '<html><body><p><a href="https://docs.example.com/reports?a=1&amp;b=2">Reports guide</a>'
    " <a href='http://example.org/x'>x</a> <a href=\"mailto:cs@x.io\">mail</a>"
    ' <a href="https://tenure.example.com/preferences/abc">prefs</a></p></body></html>'
)


def _message(session, world: World) -> Message:
    return session.get(Message, world.message_id)


def _events(session, name: str) -> list[InboxEvent]:
    return list(session.scalars(sa.select(InboxEvent).where(InboxEvent.name == name)))


def test_instrument_rewrites_links_and_adds_pixel(world: World):
    with session_scope(world.engine) as session:
        out = instrument(HTML, _message(session, world), world.settings)
    tracked = re.findall(r"https://tenure\.example\.com/t/c/([A-Za-z0-9_.-]+)", out)
    assert len(tracked) == 2
    urls = [links.read_click_token(world.settings, t) for t in tracked]
    assert urls == [
        (world.message_id, "https://docs.example.com/reports?a=1&b=2"),
        (world.message_id, "http://example.org/x"),
    ]
    assert 'href="mailto:cs@x.io"' in out  # only http(s) links are tracked
    assert 'href="https://tenure.example.com/preferences/abc"' in out  # our own links stay
    pixel = re.search(r'/t/o/([A-Za-z0-9_.-]+)\.gif".*</body>', out)
    assert pixel and links.read_open_token(world.settings, pixel.group(1)) == world.message_id


def test_click_redirects_counts_and_records_event(world: World, public_client):
    url = "https://docs.example.com/reports?a=1&b=2"
    token = links.click_token(world.settings, world.message_id, url)
    with use_clock(FrozenClock(SENT + timedelta(minutes=5))):
        response = public_client.get(
            f"/t/c/{token}", headers={"user-agent": HUMAN}, follow_redirects=False
        )
    assert response.status_code == 302 and response.headers["location"] == url
    with session_scope(world.engine) as session:
        message = _message(session, world)
        assert (message.clicks, message.opens) == (1, 0)
        assert message.first_clicked_at is not None and message.first_opened_at is not None
        (event,) = _events(session, "Email Clicked")
        assert event.account_external_id == "ACME" and event.contact_external_id == "ada"
        assert event.properties["url"] == url and event.properties["machine"] is False
        assert event.properties["message"] == world.message_id and event.source == "email"


def test_tampered_click_is_404_not_a_redirect(world: World, public_client):
    token = links.click_token(world.settings, world.message_id, "https://docs.example.com/")
    payload = links._b64(f"{world.message_id}|https://evil.example/phish".encode())
    forged = payload + token[token.index(".") :]
    for bad in (forged, token[:-3] + "AAA", "garbage"):
        response = public_client.get(f"/t/c/{bad}", follow_redirects=False)
        assert response.status_code == 404, bad
        assert "location" not in response.headers
        assert "text/html" in response.headers["content-type"]
    with session_scope(world.engine) as session:
        assert _message(session, world).clicks == 0
        assert _events(session, "Email Clicked") == []


def test_open_pixel_counts_human_and_flags_machine_opens(world: World, public_client):
    token = links.open_token(world.settings, world.message_id)
    clock = FrozenClock(SENT + timedelta(seconds=1))
    with use_clock(clock):
        soon = public_client.get(
            f"/t/o/{token}.gif", headers={"user-agent": HUMAN}
        )  # 1 s: a scanner
        clock.advance(timedelta(hours=1))
        apple = public_client.get(f"/t/o/{token}.gif", headers={"user-agent": "Mozilla/5.0"})
        human = public_client.get(f"/t/o/{token}.gif", headers={"user-agent": HUMAN})
    assert soon.status_code == apple.status_code == human.status_code == 200
    assert human.headers["content-type"] == "image/gif" and human.content.startswith(b"GIF89a")
    assert public_client.get(f"/t/o/{token[:-2]}xx.gif").status_code == 404
    with session_scope(world.engine) as session:
        message = _message(session, world)
        assert (message.opens, message.machine_opens) == (1, 2)
        assert message.first_opened_at == SENT + timedelta(hours=1, seconds=1)
        flags = sorted(
            (e.properties["machine"], e.properties["machine_reason"] or "")
            for e in _events(session, "Email Opened")
        )
        assert flags == [(False, ""), (True, "apple_mpp"), (True, "too_soon")]


def test_machine_heuristics(world: World):
    conf, now = world.settings, SENT + timedelta(hours=2)
    assert machine_reason(HUMAN, SENT, now, conf) is None
    assert machine_reason(HUMAN, now - timedelta(seconds=1.5), now, conf) == "too_soon"
    assert machine_reason("", SENT, now, conf) == "agent"
    assert machine_reason("Mozilla/5.0 (compatible; Barracuda)", SENT, now, conf) == "agent"
    assert machine_reason("python-requests/2.32", None, now, conf) == "agent"
    assert machine_reason(HUMAN, None, now, conf) is None


def test_decorate_adds_headers_footer_and_tracking(world: World):
    rendered = RenderedMessage(
        "news", 1, "marketing", "product-news", "News", None,
        '<html><body><a href="https://x.io/a">A</a></body></html>', "Hi Ada",
    )  # fmt: skip
    with session_scope(world.engine) as session:
        message = _message(session, world)
        out, headers = decorate(session, message, rendered, world.settings)
        transactional = session.get(Message, world.message_id)
        transactional.purpose = "transactional"
        plain, no_headers = decorate(session, transactional, rendered, world.settings)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(https://tenure\.example\.com/u/([^>]+))>", headers["List-Unsubscribe"])
    data = links.read_unsubscribe_token(world.settings, url.group(2))
    assert (data.contact_id, data.purpose, data.message_id) == (
        world.contact_id, "product-news", world.message_id,
    )  # fmt: skip
    assert "Tenure Ltd, 1 Main St, Springfield" in out.html and "/preferences/" in out.html
    assert "/t/c/" in out.html and "/t/o/" in out.html
    assert "Unsubscribe: https://tenure.example.com/u/" in out.text
    assert no_headers == {} and "/u/" not in plain.html and "/t/c/" in plain.html


def test_mailto_joins_list_unsubscribe_when_set(world: World):
    conf = world.settings.model_copy(update={"mail_unsubscribe_mailto": "unsub@acme.io"})
    with session_scope(world.engine) as session:
        header = unsubscribe_headers(_message(session, world), conf)["List-Unsubscribe"]
        assert session.get(Contact, world.contact_id) is not None
    assert re.fullmatch(r"<https://[^>]+/u/[^>]+>, <mailto:unsub@acme\.io\?subject=[^>]+>", header)
