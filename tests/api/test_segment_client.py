"""Segment's own Python client (segment-analytics-python) against the app served by uvicorn."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from segment.analytics import Client
from segment.analytics.request import APIError

from tenure.accounts.models import Account, Contact
from tenure.auth import service
from tenure.db.session import session_scope
from tenure.events.models import InboxEvent

from .. import factories
from .test_serve import _free_port


@pytest.fixture
def tenure_url(app: FastAPI) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread; yield its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def book(app_engine: sa.Engine) -> str:
    """Accounts ACME (contact u-known, known@acme.io) and BETA; return a write key."""
    with session_scope(app_engine) as session:
        acme = factories.add_account(session, "ACME")
        factories.add_account(session, "BETA")
        factories.add_contact(session, acme, external_id="u-known", email="known@acme.io")
        _, key = service.create_write_key(session, "segment-python")
    return key


def _client(write_key: str, url: str, errors: list[Any], **options: Any) -> Client:
    """Return Segment's client pointed at Tenure, recording every delivery error."""
    return Client(
        write_key,
        host=url,
        on_error=lambda error, batch: errors.append((error, len(batch))),
        max_retries=1,
        **options,
    )


def _inbox(engine: sa.Engine) -> dict[str, tuple[str, str | None, str | None, dict]]:
    """Return message id → (name, account external id, contact, properties)."""
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(InboxEvent)).all()
        return {
            r.message_id: (r.name, r.account_external_id, r.contact_external_id, r.properties)
            for r in rows
        }


def test_every_call_of_the_real_client_lands_or_waits_for_its_user(
    tenure_url: str, book: str, app_engine: sa.Engine
) -> None:
    """track ×300, identify, page, screen, group, alias and flush: nothing is lost (issue 18 §2)."""
    errors: list[Any] = []
    client = _client(book, tenure_url, errors, upload_size=100)
    for n in range(300):
        client.track("u-known", "Report Exported", {"n": n}, message_id=f"t-{n}")
    client.identify("u-known", {"name": "Kim", "plan": "pro"}, message_id="id-known")
    client.identify("u-new", {"email": "new@beta.io"}, message_id="id-new")
    client.page("u-known", "Docs", "Pricing", {"path": "/pricing"}, message_id="pg")
    client.screen("u-known", "Mobile", "Home", message_id="sc")
    client.track(event="Signed Up", anonymous_id="anon-9", message_id="anon-track")
    client.flush()
    before = _inbox(app_engine)
    assert len(before) == 305 and errors == []
    assert before["id-known"] == ("identify", "ACME", "u-known", {"name": "Kim", "plan": "pro"})
    assert before["id-new"][1] is None and before["anon-track"][1] is None  # held, not refused
    assert before["pg"] == (
        "page_viewed",
        "ACME",
        "u-known",
        {"path": "/pricing", "name": "Pricing", "category": "Docs"},
    )
    assert before["sc"][:2] == ("screen_viewed", "ACME")
    assert {before[f"t-{n}"][1] for n in range(300)} == {"ACME"}

    client.group("u-new", "BETA", {"name": "Beta Ltd", "seats": 12}, message_id="grp")
    client.alias("anon-9", "u-known", message_id="als")
    client.shutdown()
    after = _inbox(app_engine)
    assert errors == []
    assert after["grp"] == ("group", "BETA", "u-new", {"name": "Beta Ltd", "seats": 12})
    assert after["id-new"][1] == "BETA"  # released by the group call
    assert after["als"] == ("alias", "ACME", "u-known", {"previous_id": "anon-9"})
    assert after["anon-track"][1] == "ACME"  # released by the alias
    with session_scope(app_engine) as session:
        contact = session.scalar(sa.select(Contact).where(Contact.external_id == "u-new"))
        beta = session.scalar(sa.select(Account.id).where(Account.external_id == "BETA"))
        assert contact is not None and contact.account_id == beta
        unresolved = sa.select(sa.func.count()).where(InboxEvent.account_id.is_(None))
        assert session.scalar(unresolved) == 0


def test_sync_mode_sends_each_call_and_a_known_email_resolves_a_new_user_id(
    tenure_url: str, book: str, app_engine: sa.Engine
) -> None:
    """In sync mode each call is its own request; an unknown userId resolves by its email."""
    errors: list[Any] = []
    client = _client(book, tenure_url, errors, sync_mode=True)
    context = {"traits": {"email": "known@acme.io"}}
    client.track("crm-777", "Logged In", context=context, message_id="by-email")
    client.identify("crm-778", {"email": "known@acme.io"}, message_id="identify-by-email")
    client.flush()
    inbox = _inbox(app_engine)
    assert errors == []
    assert inbox["by-email"][:3] == ("Logged In", "ACME", "crm-777")
    assert inbox["identify-by-email"][:3] == ("identify", "ACME", "crm-778")


def test_a_wrong_write_key_is_refused_and_reported_to_the_client(
    tenure_url: str, book: str, app_engine: sa.Engine
) -> None:
    """In sync mode the client raises the 401 Tenure answers; nothing is stored."""
    errors: list[Any] = []
    client = _client("wk_not_a_key", tenure_url, errors, sync_mode=True)
    with pytest.raises(APIError) as refused:
        client.track("u-known", "Login", message_id="nope")
    assert refused.value.status == 401
    assert _inbox(app_engine) == {}
