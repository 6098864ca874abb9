"""Fixtures of the consent, unsubscribe and tracking tests: a public app, a contact, a message."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.messaging.models import Message, MessageTemplate

from .. import pg_switch
from ..factories import add_account, add_contact

SECRET = "messaging-test-secret-" + "k" * 32
MAILGUN_KEY = "key-mailgun-test-signing"
SENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def public_settings(data_dir: Path, **overrides: object) -> Settings:
    """Return settings with a fixed secret key, a public URL and a Mailgun signing key."""
    values = {
        "data_dir": data_dir, "secret_key": SECRET, "secure_cookies": False,
        "public_url": "https://tenure.example.com", "mailgun_webhook_signing_key": MAILGUN_KEY,
        "mail_postal_address": "Tenure Ltd, 1 Main St, Springfield",
    } | overrides  # fmt: skip
    return Settings(**values)


@dataclass
class World:
    """One account, one consenting contact, one sent marketing message (topic product-news)."""

    settings: Settings
    engine: sa.Engine
    account_id: int
    contact_id: int
    message_id: int


def add_template(session, name="news", version=1, **fields) -> MessageTemplate:
    """Store one email template version."""
    values = {
        "subject": "News for {{ account.name }}", "body": "<p>Hi {{ contact.name }}</p>",
        "text_body": "Hi", "purpose": "marketing", "topic": "product-news", "created_at": SENT,
    } | fields  # fmt: skip
    row = MessageTemplate(name=name, version=version, **values)
    session.add(row)
    session.flush()
    return row


def add_message(session, account, contact, key="m-1", **fields) -> Message:
    """Store a sent message to a contact."""
    values = {
        "idempotency_key": key, "account_id": account.id, "contact_id": contact.id,
        "to_email": contact.email, "template_name": "news", "template_version": 1,
        "purpose": "marketing", "topic": "product-news", "subject": "News",
        "status": "sent", "created_at": SENT, "sent_at": SENT,
    } | fields  # fmt: skip
    message = Message(**values)
    session.add(message)
    session.flush()
    return message


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return an empty, migrated SQLite app DB file, made once per test session."""
    settings = public_settings(tmp_path_factory.mktemp("migrated") / "data")
    settings.data_dir.mkdir(parents=True)
    engine = get_engine(settings)
    migrate(engine)
    engine.dispose()
    return settings.data_dir / "tenure.db"


@pytest.fixture
def world(tmp_path: Path, migrated_db: Path) -> Iterator[World]:
    """Return a migrated app DB with an account, a contact who consented and a sent message."""
    settings = public_settings(tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    if not pg_switch.ENABLED:  # under the switch the schema comes migrated
        shutil.copyfile(migrated_db, settings.data_dir / "tenure.db")
    engine = get_engine(settings)
    with session_scope(engine) as session:
        account = add_account(session, "ACME", name="Acme")
        contact = add_contact(
            session, account, external_id="ada", email="Ada@Acme.io", consent={"email": True}
        )
        add_template(session)
        add_template(session, name="tips", topic="tips")
        message = add_message(session, account, contact)
        ids = account.id, contact.id, message.id
    yield World(settings, engine, *ids)
    engine.dispose()


@pytest.fixture
def public_client(world: World) -> Iterator[TestClient]:
    """Return an HTTP client of the app (API and public pages) on the world's DB."""
    app = create_app(world.settings)
    with TestClient(app, base_url="https://tenure.example.com") as test_client:
        yield test_client
    app.state.engine.dispose()
