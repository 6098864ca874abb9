"""Consent: the newest decision holds per purpose and topic, the import is the fallback, policy."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from tests.api.conftest import login, make_users

from tenure.accounts.models import Contact
from tenure.auth import service
from tenure.cli.main import app as cli_app
from tenure.clock import FrozenClock, use_clock
from tenure.db.session import session_scope
from tenure.messaging import consent
from tenure.messaging.models import ContactConsent
from tenure.messaging.suppression import suppress

from ..factories import add_account, add_contact
from .consent_world import SENT, World


@pytest.fixture
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash passwords at minimal cost in these tests."""
    monkeypatch.setattr(
        service, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def _contact(session, world: World) -> Contact:
    return session.get(Contact, world.contact_id)


def test_newest_decision_wins_and_import_is_carried(world: World):
    clock = FrozenClock(SENT)
    with use_clock(clock), session_scope(world.engine) as session:
        contact = _contact(session, world)
        assert consent.may_send(session, contact, "marketing", None) is None  # import: yes
        consent.record_consent(session, contact, purpose="marketing", granted=False, source="api")
        assert consent.may_send(session, contact, "marketing", None) == "no_consent"
        clock.advance(timedelta(minutes=1))
        consent.record_consent(
            session, contact, purpose="marketing", granted=True, source="preference_page"
        )
        assert consent.may_send(session, contact, "marketing", None) is None
        history = session.execute(
            sa.select(ContactConsent.source, ContactConsent.granted)
            .where(ContactConsent.contact_id == contact.id)
            .order_by(ContactConsent.at, ContactConsent.id)
        ).all()
        assert history == [("import", True), ("api", False), ("preference_page", True)]


def test_topic_opt_out_blocks_only_that_topic(world: World):
    with session_scope(world.engine) as session:
        contact = _contact(session, world)
        consent.record_consent(
            session, contact, purpose="product-news", granted=False, source="unsubscribe"
        )
        assert consent.may_send(session, contact, "marketing", "product-news") == (
            "unsubscribed:product-news"
        )
        assert consent.may_send(session, contact, "marketing", "tips") is None
        assert consent.may_send(session, contact, "transactional", "product-news") is None
        state = consent.consent_state(session, contact)
        assert state["product-news"]["granted"] is False
        assert state["marketing"] == {
            "granted": True, "source": "import", "at": None, "text_version": None, "actor": None,
        }  # fmt: skip


def test_no_send_after_unsubscribe_or_bounce(world: World):
    with session_scope(world.engine) as session:
        contact = _contact(session, world)
        suppress(session, "ada@acme.io", "hard_bounce", "smtp", "550 no such user")
        row, new = suppress(session, " ADA@acme.io", "hard_bounce", "smtp", "again")
        assert not new and row.detail == "550 no such user"
        for purpose in ("marketing", "transactional"):
            assert consent.may_send(session, contact, purpose, None) == "suppressed:hard_bounce"


def test_purpose_policy_is_configurable(world: World):
    strict = world.settings.model_copy(
        update={"message_consent_policy": {"marketing": "marketing", "transactional": "service"}}
    )
    with session_scope(world.engine) as session:
        contact = _contact(session, world)
        assert consent.may_send(session, contact, "transactional", None, world.settings) is None
        assert consent.may_send(session, contact, "transactional", None, strict) == "no_consent"
        consent.record_consent(session, contact, purpose="service", granted=True, source="api")
        assert consent.may_send(session, contact, "transactional", None, strict) is None
        # an unlisted purpose needs consent for itself
        assert consent.may_send(session, contact, "surveys", None, strict) == "no_consent"


def test_api_records_consent_for_managers_only(world: World, public_client, cheap_argon2):
    emails = make_users(world.engine)
    manager = {"Authorization": "Bearer " + login(public_client, emails["manager"])["access_token"]}
    csm = {"Authorization": "Bearer " + login(public_client, emails["csm"])["access_token"]}
    url = f"/v1/contacts/{world.contact_id}/consent"
    body = {"purpose": "tips", "granted": False, "text_version": "v2"}
    assert public_client.post(url, json=body, headers=csm).status_code == 403
    response = public_client.post(url, json=body, headers=manager)
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["decision"]["source"] == "api" and out["decision"]["actor"] == emails["manager"]
    assert out["consent"]["tips"]["granted"] is False
    assert (
        public_client.post("/v1/contacts/999/consent", json=body, headers=manager).status_code
        == 404
    )
    bad = public_client.post(url, json={"purpose": "a b", "granted": True}, headers=manager)
    assert bad.status_code == 422


def test_cli_privacy_consent_set_and_show(world: World, cli, monkeypatch):
    monkeypatch.setenv("TENURE_SECRET_KEY", world.settings.secret_key)
    data = ["--data-dir", str(world.settings.data_dir)]
    result = cli.invoke(cli_app, [*data, "privacy", "consent", "set", "ada", "--revoke", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["consent"]["marketing"]["granted"] is False
    shown = cli.invoke(cli_app, [*data, "privacy", "consent", "show", "ada@acme.io", "--json"])
    state = json.loads(shown.stdout)["consent"]
    assert state["marketing"]["source"] == "cli"
    missing = cli.invoke(cli_app, [*data, "privacy", "consent", "show", "nobody"])
    assert missing.exit_code == 4 and "no contact" in missing.output


def test_consent_and_suppression_on_every_backend(any_engine):
    """Newest-wins, the carried import row and suppression behave alike on SQLite and Postgres."""
    clock = FrozenClock(SENT)
    with use_clock(clock), session_scope(any_engine) as session:
        account = add_account(session, "PG")
        contact = add_contact(session, account, email="Bo@pg.io", consent={"email": True})
        consent.record_consent(session, contact, purpose="marketing", granted=False, source="api")
        clock.advance(timedelta(seconds=1))
        consent.record_consent(session, contact, purpose="tips", granted=False, source="api")
        assert consent.consent_state(session, contact)["marketing"]["granted"] is False
        assert consent.may_send(session, contact, "transactional", "tips") is None
        suppress(session, "bo@PG.io", "complaint", "webhook:mailgun")
        assert consent.may_send(session, contact, "transactional", None) == "suppressed:complaint"
        sources = session.scalars(
            sa.select(ContactConsent.source)
            .where(ContactConsent.contact_id == contact.id)
            .order_by(ContactConsent.at, ContactConsent.id)
        ).all()
        assert sources == ["import", "api", "api"]
