"""A real sent email's unsubscribe link in chromium: confirm, preferences, topics, the DB.

The message goes through send_message, the wiring `decorate` adds (footer, headers, tracking, as
send_message will once it calls it), the outbox and a real aiosmtpd server; the browser opens the
List-Unsubscribe URL of what the server received, on the app served by uvicorn.
"""

from __future__ import annotations

import re
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import uvicorn

from tenure.accounts.models import Contact
from tenure.alerts.delivery import deliver_due
from tenure.api.app import create_app
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.messaging import consent
from tenure.messaging.sending import MessageOrigin, send_message
from tenure.web.assets import missing_assets

from ..alerts.conftest import free_port
from ..factories import add_account, add_contact
from .consent_world import add_template, public_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path("/tmp/web-shots")
FOOTER = '<p><a href="{{ footer.preferences_url }}">Preferences</a> {{ footer.postal_address }}</p>'


def _send(engine, settings) -> int:
    """Send one marketing email (topic product-news) to a consenting contact; return its id."""
    with session_scope(engine) as session:
        account = add_account(session, "ACME", name="Acme")
        contact = add_contact(
            session, account, external_id="ada", email="ada@acme.io", consent={"email": True}
        )
        add_template(
            session, body='<html><body><a href="https://docs.example.com/">Guide</a>'
            + FOOTER + "</body></html>",
        )  # fmt: skip
        add_template(session, name="tips", topic="tips")
        # send_message renders the footer links and decorates (tracked links, RFC 8058 headers)
        send_message(
            session, settings, account=account, contact=contact, template="news", version=None,
            origin=MessageOrigin("browser-1"),
        )  # fmt: skip
        return contact.id


def _serve(app, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return server


def _consent(engine, contact_id: int) -> dict:
    with session_scope(engine) as session:
        return consent.consent_state(session, session.get(Contact, contact_id))


def test_unsubscribe_link_and_preference_page_in_chromium(tmp_path, chromium, smtp_sink):
    if missing := missing_assets():
        pytest.skip(f"dashboard scripts {missing} missing: run python -m tenure.web.assets")
    port = free_port()
    settings = public_settings(
        tmp_path / "data", public_url=f"http://127.0.0.1:{port}", smtp_port=smtp_sink.port,
        mail_from="cs@acme-saas.io",
    )  # fmt: skip
    engine = get_engine(settings)
    migrate(engine)
    contact_id = _send(engine, settings)
    assert deliver_due(engine, settings).sent == 1
    (raw,) = smtp_sink.messages
    received = message_from_bytes(raw.as_bytes(), policy=policy.default)
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # (re-serialising the sink's copy folds the long line: strip the fold's whitespace)
    unsubscribe = re.fullmatch(r"<([^>]+)>", received["List-Unsubscribe"].strip()).group(1)
    html = received.get_body(("html",)).get_content()
    assert "/t/c/" in html and "/t/o/" in html and "Tenure Ltd" in html

    server = _serve(create_app(settings), port)
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(unsubscribe)
        page.wait_for_selector("#confirm-unsubscribe")
        assert "product-news" not in _consent(engine, contact_id)  # the GET changed nothing
        page.click("#confirm-unsubscribe")
        page.wait_for_selector("#unsubscribed")
        assert _consent(engine, contact_id)["product-news"]["granted"] is False

        page.click("#preferences-link")
        page.wait_for_selector("#preferences")
        assert not page.is_checked("#topic-product-news") and page.is_checked("#topic-tips")
        assert page.is_checked("#marketing")
        page.check("#topic-product-news")
        page.uncheck("#topic-tips")
        page.click("#save-preferences")
        page.wait_for_selector("#preferences-saved")  # swapped in by HTMX
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "email-preferences.png"), full_page=True)
        state = _consent(engine, contact_id)
        assert state["product-news"]["granted"] is True and state["tips"]["granted"] is False
        assert state["tips"]["source"] == "preference_page"
    finally:
        context.close()
        server.should_exit = True
        engine.dispose()
