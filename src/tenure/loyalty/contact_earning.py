"""Contact earning: rules with `award_to = "contact"|"both"` credit the event's contact too.

The same set-based machinery as the company wallet (`event_earning.earnings_of`) runs over
the member accounts' events that name a known contact, with the contact as the wallet's owner:
a rule's caps and cool-down are counted per contact, its lifetime cap being `max_per_contact`
(`first_time_only`: once per contact). Events without a contact, or whose contact is not in
the CRM, credit no contact wallet. Real-time arrivals earn through `earn_contacts`, with the
same source keys (`event:<message_id>:<rule>` in the contact ledger), so the stage posts
nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Contact
from tenure.loyalty.contact_models import LoyaltyContactMovement
from tenure.loyalty.contact_wallets import (
    ContactEarning,
    post_contact_bulk,
    post_contact_earnings,
)
from tenure.loyalty.earning import rule_history
from tenure.loyalty.earning_rules import choose
from tenure.loyalty.event_earning import (
    SCHEMA,
    _with_source_keys,
    day_start,
    earnings_of,
    history_arrow,
)
from tenure.loyalty.ledger import BATCH
from tenure.loyalty.program import EarningRule, Program
from tenure.warehouse.catalog import EVENTS

CONTACT_EVENTS = f"""
SELECT e.message_id, c.contact_id AS account_id, e.name, e.ts FROM {EVENTS} e
JOIN loyalty_contacts c ON c.account_id = e.account_id AND c.external_id = e.contact_external_id
WHERE e.ts >= $start AND e.ts < $end AND e.name IN (SELECT event FROM loyalty_contact_names)
"""


def contact_rules(program: Program) -> list[EarningRule]:
    """Return the event rules that credit contacts, with their caps counted per contact."""
    return [r.for_contact() for r in program.rules if r.event is not None and r.to_contact]


def contacts_of(session: Session, accounts: list[int]) -> pa.Table:
    """Return the contacts of some accounts: contact_id, account_id, external_id."""
    rows: list[Any] = []
    table, connection = Contact.__table__, session.connection()  # Core rows: no ORM loading
    for start in range(0, len(accounts), BATCH):
        query = sa.select(table.c.id, table.c.account_id, table.c.external_id).where(
            table.c.account_id.in_(accounts[start : start + BATCH])
        )
        rows.extend(connection.execute(query).all())
    return pa.table({
        "contact_id": pa.array([r[0] for r in rows], pa.int64()),
        "account_id": pa.array([r[1] for r in rows], pa.int64()),
        "external_id": pa.array([r[2] for r in rows], pa.string()),
    })  # fmt: skip


def contact_window_earnings(
    con: Any, session: Session, program: Program, members: list[int], first: date, last: date
) -> tuple[pa.Table, dict[int, int]]:
    """Return the contact earnings (account_id holds the contact) and each contact's account."""
    rules = contact_rules(program)
    contacts = contacts_of(session, members) if rules and members and first <= last else None
    if contacts is None or contacts.num_rows == 0:
        return _with_source_keys(SCHEMA.empty_table()), {}
    owners = dict(zip(contacts["contact_id"].to_pylist(), contacts["account_id"].to_pylist(),
                      strict=True))  # fmt: skip
    history = history_arrow(
        rule_history(session, [r.key for r in rules], first, LoyaltyContactMovement)
    )
    names = pa.table({"event": sorted({r.event or "" for r in rules})})
    window = {"start": day_start(first), "end": day_start(last + timedelta(days=1))}
    con.register("loyalty_contacts", contacts)
    con.register("loyalty_contact_names", names)
    try:  # the window's events of known contacts, matched once for both earning queries
        events = con.execute(CONTACT_EVENTS, window).to_arrow_table()
    finally:
        con.unregister("loyalty_contacts")
        con.unregister("loyalty_contact_names")
    con.register("loyalty_contact_events", events)
    try:
        found = earnings_of(
            con, rules, history, sorted(owners), (first, last), "loyalty_contact_events"
        )
    finally:
        con.unregister("loyalty_contact_events")
    return found, owners


def post_contact_table(
    session: Session, table: pa.Table, owners: dict[int, int], actor: str = "pipeline"
) -> int:
    """Post a table of contact earnings (as from contact_window_earnings); return new ones."""
    rows = table.select(["account_id", "rule", "points", "source_key", "ts"]).to_pydict()
    earnings = [
        ContactEarning(c, owners[c], r, p, k, t)
        for c, r, p, k, t in zip(rows["account_id"], rows["rule"], rows["points"],
                                 rows["source_key"], rows["ts"], strict=True)
    ]  # fmt: skip
    return post_contact_bulk(session, earnings, actor)


def _arrival_history(session: Session, contacts: set[int], rules: set[str]) -> dict:
    """Return each (contact, rule)'s earning times from the contact ledger."""
    m = LoyaltyContactMovement
    query = sa.select(m.contact_id, m.rule, m.occurred_at).where(
        m.kind == "earn", m.contact_id.in_(contacts), m.rule.in_(rules)
    )
    history: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for contact_id, rule, at in session.execute(query):
        history[contact_id, rule].append(at)
    return history


def earn_contacts(session: Session, events: list, by_event: dict[str, list[EarningRule]]) -> int:
    """Post the contact earnings of landed member events (in time order); return new ones."""

    named = [e for e in events if e.name in by_event and e.contact_external_id]
    if not named:
        return 0
    query = sa.select(Contact.external_id, Contact.account_id, Contact.id).where(
        Contact.external_id.in_(sorted({e.contact_external_id for e in named}))
    )
    known = {(external, account): cid for external, account, cid in session.execute(query)}
    owned = [
        SimpleNamespace(message_id=e.message_id, name=e.name, ts=e.ts, owner=e.account_id,
                        account_id=known[e.contact_external_id, e.account_id])
        for e in named if (e.contact_external_id, e.account_id) in known
    ]  # fmt: skip
    if not owned:
        return 0
    keys = {r.key for e in owned for r in by_event[e.name]}
    history = _arrival_history(session, {e.account_id for e in owned}, keys)
    owners = {e.account_id: e.owner for e in owned}
    earnings = [
        ContactEarning(e.account_id, owners[e.account_id], e.rule, e.points, e.source_key,
                       e.occurred_at)
        for e in choose(owned, by_event, history)
    ]  # fmt: skip
    return post_contact_earnings(session, earnings, actor="tracking")
