"""The shared test factories write valid rows with their defaults and keyword overrides."""

from __future__ import annotations

import sqlalchemy as sa

from tenure.accounts.models import Account, Invoice, SurveyResponse, Ticket
from tenure.db.session import session_scope
from tenure.events.models import InboxEvent
from tenure.health.models import HealthScore

from . import factories


def test_every_factory_writes_a_row_that_reads_back(engine):
    with session_scope(engine) as session:
        account = factories.add_account(session, "acme", industry="retail")
        other = factories.add_account(session)
        subscription = factories.add_subscription(session, account, mrr=25_000)
        contact = factories.add_contact(session, account)
        factories.add_ticket(session, account.id, contact_id=contact.id)
        factories.add_invoice(session, account, status="failed")
        factories.add_survey(session, other.id, kind="csat", score=4)
        factories.add_health_score(session, account, tier="red", score=30.0)
        factories.add_churn_score(session, other, probability=0.4, risk_tier="high")
        factories.add_inbox_event(session, account, name="export")
        ids = (account.id, other.id, subscription.started_at, contact.email)
    assert ids[2] == factories.T0 and ids[3].endswith("@example.com")
    with engine.connect() as conn:
        counts = {
            model.__name__: conn.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
            for model in (Account, Ticket, Invoice, SurveyResponse, HealthScore)
        }
        event = conn.execute(sa.select(InboxEvent.name, InboxEvent.account_id)).one()
    assert counts == dict.fromkeys(counts, 1) | {"Account": 2}
    assert tuple(event) == ("export", ids[0])
