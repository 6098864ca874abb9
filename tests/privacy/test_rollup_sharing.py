"""Raw-event retention (roll-up then delete), minimisation of event properties, and CCPA
"do not sell or share" on third-party deliveries."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import duckdb
import sqlalchemy as sa

from tenure.alerts.models import AlertDelivery
from tenure.alerts.outbox import add_delivery
from tenure.db.session import session_scope
from tenure.messaging.consent import record_consent
from tenure.privacy.minimise import minimised, minimised_sql
from tenure.privacy.retention import roll_up_raw_events
from tenure.privacy.rollup import retention_cutoff
from tenure.privacy.sharing import SELL_SHARE
from tenure.warehouse.connection import open_warehouse

from ..factories import add_account, add_contact, add_warehouse_events


def test_cutoff_is_the_start_of_a_month_n_months_back():
    assert retention_cutoff(date(2025, 3, 17), 13) == datetime(2024, 2, 1, tzinfo=UTC)
    assert retention_cutoff(date(2025, 1, 1), 1) == datetime(2024, 12, 1, tzinfo=UTC)


def test_old_events_become_daily_counts_and_are_deleted(settings):
    start = datetime(2024, 11, 25, tzinfo=UTC)
    rows = [
        (f"m{i}", ("login", "report_viewed")[i % 2], start + timedelta(hours=7 * i), f"c{i % 3}")
        for i in range(400)
    ]
    add_warehouse_events(settings, 1, "acct-1", rows)
    cutoff = retention_cutoff(date(2025, 2, 10), 2)  # 2024-12-01
    expected = Counter((ts.date(), name) for _, name, ts, _ in rows if ts < cutoff)
    settings = settings.model_copy(update={"raw_event_retention_months": 2})
    summary = roll_up_raw_events(settings, date(2025, 2, 10))
    assert summary["raw_events_rolled_up"] == sum(expected.values())
    with open_warehouse(settings, read_only=True) as warehouse:
        con = warehouse.con
        daily = con.execute("SELECT day, name, events FROM events_daily").fetchall()
        left = con.execute("SELECT count(*), min(ts) FROM events").fetchone()
    assert {(d, n): e for d, n, e in daily} == dict(expected)
    assert left[0] == 400 - sum(expected.values()) and left[1] >= cutoff


def test_identifying_property_keys_are_not_copied():
    properties = {"Email": "a@b.example", "phone": "+1 555", "plan": "pro", "page": {"x": 1}}
    assert minimised(properties) == {"plan": "pro", "page": {"x": 1}}
    con = duckdb.connect()
    query = f"SELECT {minimised_sql('p')} FROM (SELECT CAST(? AS VARCHAR) AS p)"
    out = con.execute(query, [json.dumps(properties)]).fetchone()[0]
    assert json.loads(out) == minimised(properties)


def test_opted_out_people_are_withheld_from_webhooks_not_from_email(engine):
    with session_scope(engine) as session:
        account = add_account(session, "acct-ccpa")
        shy = add_contact(session, account, external_id="cn-shy", name="Ottoline Brandvold",
                          email="ottoline@ccpa.example")  # fmt: skip
        add_contact(session, account, external_id="cn-open", email="open@ccpa.example")
        record_consent(session, shy, purpose=SELL_SHARE, granted=False, source="api")
        text = "Ottoline Brandvold (ottoline@ccpa.example) and open@ccpa.example replied"
        for channel in ("webhook", "email"):
            add_delivery(session, channel, "crm", f"k-{channel}", text, text,
                         {"contacts": [text]}, None, "alert")  # fmt: skip
    with session_scope(engine) as session:
        sent = {d.channel: d for d in session.scalars(sa.select(AlertDelivery))}
    hook = sent["webhook"]
    assert "Ottoline" not in hook.body and "ottoline@" not in json.dumps(hook.payload)
    assert "open@ccpa.example" in hook.body and "[withheld]" in hook.subject
    assert sent["email"].body == text  # a message to the customer is not a sale or share
