"""Erasure on small data: what each table keeps or loses, the erased list, compaction, repeats."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tenure.accounts.models import Account, Contact, Invoice, Subscription, SurveyResponse, Ticket
from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.errors import LockHeld
from tenure.events.models import InboxEvent
from tenure.events.service import record_events
from tenure.ingest.flows import import_file
from tenure.ingest.models import QuarantinedRow
from tenure.privacy.audit import verify_chain
from tenure.privacy.erasure import erase, is_erased
from tenure.privacy.models import ErasedIdentifier, PrivacyRequest
from tenure.warehouse.connection import writer_lock

from ..factories import (
    add_account,
    add_contact,
    add_inbox_event,
    add_invoice,
    add_subscription,
    add_survey,
    add_ticket,
    add_warehouse_events,
)  # fmt: skip

EMAIL = "marguerite.okonkwo@probe.example"
NAME = "Marguerite Okonkwo"
T1 = datetime(2025, 6, 1, tzinfo=UTC)


def _book(session: Any) -> dict[str, Any]:
    """Add two accounts; the first has the person, a ticket, a survey, an event, an invoice."""
    account = add_account(session, "acct-probe", name="Probe Ltd")
    other = add_account(session, "acct-other")
    person = add_contact(session, account, external_id="cn-probe", email=EMAIL, name=NAME)
    add_contact(session, other, external_id="cn-other", email="someone@other.example")
    add_subscription(session, account)
    add_invoice(session, account, amount=4_200)
    add_ticket(session, account, contact_id=person.id, subject=f"{NAME} asks about SSO")
    add_survey(session, account, contact_id=person.id, comment=f"from {EMAIL}")
    add_inbox_event(session, account, contact_external_id="cn-probe", contact_email=EMAIL)
    add_inbox_event(session, other, contact_external_id="cn-other")
    return {"account": account.id, "other": other.id, "person": person.id}


def _count(session: Any, model: Any, *where: Any) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_contact_erasure_deletes_detaches_and_remembers(settings, engine, tmp_path):
    with session_scope(engine) as session:
        ids = _book(session)
    day = datetime(2025, 6, 1, tzinfo=UTC)
    rows = [(f"w{i}", "login", day + timedelta(hours=i), "cn-probe" if i % 2 else "cn-other")
            for i in range(200)]  # fmt: skip
    add_warehouse_events(settings, ids["account"], "acct-probe", rows)
    first = erase(settings, engine, actor="dpo@example.com", contact=EMAIL)
    assert first["status"] == "done" and first["report"]["warehouse"] == {"events": 100}
    with session_scope(engine) as session:
        assert _count(session, Contact, Contact.id == ids["person"]) == 0
        assert _count(session, Contact) == 1  # the other account's contact is untouched
        ticket = session.scalars(sa.select(Ticket)).one()
        assert ticket.contact_id is None and ticket.subject is None  # kept for the account
        assert session.scalars(sa.select(SurveyResponse)).one().comment is None
        assert _count(session, InboxEvent) == 1
        assert is_erased(session, EMAIL) and is_erased(session, "CN-PROBE")
        assert verify_chain(session).intact
    again = erase(settings, engine, actor="dpo@example.com", contact="cn-probe")
    assert again["id"] == first["id"] and again["repeated"] is True
    for path in _stored_files(settings):
        data = path.read_bytes().lower()
        assert EMAIL.encode() not in data and b"cn-probe" not in data, path


def _stored_files(settings):
    """Return the SQLite app DB file (when the app DB is SQLite) and the warehouse file."""
    on_sqlite = settings.app_database_url.startswith("sqlite")
    return [settings.data_dir / "tenure.db"] * on_sqlite + [settings.warehouse_path]


def test_account_erasure_keeps_invoices_and_mrr_on_a_pseudonym(settings, engine):
    with session_scope(engine) as session:
        ids = _book(session)
    erase(settings, engine, actor="dpo@example.com", account="acct-probe")
    with session_scope(engine) as session:
        account = session.get(Account, ids["account"])
        assert account.external_id.startswith("erased-") and "Probe" not in account.name
        assert session.scalars(sa.select(Invoice.amount)).all() == [4_200]
        assert _count(session, Subscription, Subscription.account_id == ids["account"]) == 1
        assert _count(session, Ticket) == 0 and _count(session, SurveyResponse) == 0
        assert _count(session, Contact, Contact.account_id == ids["account"]) == 0
        assert _count(session, Contact, Contact.account_id == ids["other"]) == 1
        kinds = set(session.scalars(sa.select(ErasedIdentifier.kind)))
        assert kinds == {"account", "contact", "email"}
    for path in _stored_files(settings)[:-1]:
        data = path.read_bytes()
        assert b"acct-probe" not in data and b"Probe Ltd" not in data


def test_an_erased_person_is_not_imported_or_tracked_again(settings, engine, tmp_path):
    with session_scope(engine) as session:
        _book(session)
    erase(settings, engine, actor="dpo@example.com", contact="cn-probe")
    path = tmp_path / "contacts.csv"
    path.write_text(
        f"contact_id,account_id,email,name\ncn-probe,acct-probe,{EMAIL},{NAME}\n"
        "cn-new,acct-probe,new.person@probe.example,New Person\n"
    )
    result = import_file("contacts", path, settings=settings, engine=engine)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    with session_scope(engine) as session:
        row = session.scalars(sa.select(QuarantinedRow)).one()
        assert "erased at the person's request" in row.reason and row.raw == ""
        at = "2025-06-01T10:00:00Z"
        events = [
            {"event": "login", "account_id": "acct-probe", "contact_id": "cn-probe"},
            {"event": "login", "account_id": "acct-probe", "contact_email": EMAIL.upper()},
            {"event": "login", "account_id": "acct-probe", "contact_id": "cn-new"},
        ]
        events = [{**e, "timestamp": at, "message_id": f"m{i}"} for i, e in enumerate(events)]
        recorded = record_events(events, db_session=session, login_events=("login",))
    assert (recorded.accepted, recorded.erased) == (1, 2)
    quarantine = next(settings.imports_dir.glob("*quarantine.csv")).read_text()
    assert EMAIL not in quarantine and NAME not in quarantine


def test_a_failed_erasure_is_retried_by_asking_again(settings, engine):
    with session_scope(engine) as session:
        ids = _book(session)
    add_warehouse_events(settings, ids["account"], "acct-probe", [("w1", "login", T1, "cn-probe")])
    with writer_lock(settings.warehouse_path), pytest.raises(LockHeld):
        erase(settings, engine, actor="dpo@example.com", contact="cn-probe")
    with session_scope(engine) as session:
        failed = session.scalars(sa.select(PrivacyRequest)).one()
        assert failed.status == "failed" and "LockHeld" in failed.report["error"]
        assert _count(session, Contact, Contact.id == ids["person"]) == 1  # nothing half-done
    retried = erase(settings, engine, actor="dpo@example.com", contact=EMAIL)
    assert retried["id"] == failed.id and retried["status"] == "done"
    assert retried["report"]["warehouse"] == {"events": 1} and "error" not in retried["report"]


def test_cli_exports_then_erases_an_account(cli, settings, engine, tmp_path):
    with session_scope(engine) as session:
        _book(session)
    data, out = str(settings.data_dir), tmp_path / "probe.zip"
    exported = cli.invoke(app, ["--data-dir", data, "privacy", "export", "--account",
                                "acct-probe", "--out", str(out)])  # fmt: skip
    assert exported.exit_code == 0, exported.output
    names = set(zipfile.ZipFile(out).namelist())
    assert {"README.md", "account.json", "contact.json", "invoice.json", "ticket.json"} <= names
    erased = cli.invoke(app, ["--data-dir", data, "privacy", "erase", "--account", "acct-probe"])
    assert erased.exit_code == 0 and " done" in erased.output, erased.output
    request_id = erased.output.split("request ")[1].split()[0]
    shown = cli.invoke(app, ["--data-dir", data, "privacy", "request", request_id])
    assert json.loads(shown.output)["subject"].startswith("account:")
    missing = cli.invoke(app, ["--data-dir", data, "privacy", "export", "--account", "acct-probe"])
    assert missing.exit_code != 0 and "no account" in missing.output
