"""Write validated rows to their home: entities upsert into the app DB, events into the warehouse."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
from sqlalchemy import Table
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Contact, Invoice, Subscription, SurveyResponse, Ticket
from tenure.db.bulk import upsert
from tenure.ingest import event_keys, pg_copy
from tenure.metrics.models import MarketingSpend
from tenure.privacy.minimise import minimised_sql
from tenure.warehouse.catalog import EVENTS

BATCH_ROWS = 20_000

MODELS = {
    "accounts": Account,
    "contacts": Contact,
    "subscriptions": Subscription,
    "invoices": Invoice,
    "tickets": Ticket,
    "surveys": SurveyResponse,
    "spend": MarketingSpend,
}

# SELECT lists that turn a staged table into the model's columns.
SELECTS = {
    "accounts": "account_id AS external_id, name, created_at__v AS created_at, industry, region,"
    " owner, CAST(_attributes AS VARCHAR) AS attributes, {source} AS source",
    "contacts": "contact_id AS external_id, _account_ref AS account_id, lower(email) AS email, name,"
    " role, created_at__v AS created_at, json_object('email', consent_email__v, 'sms',"
    " consent_sms__v)::VARCHAR AS consent",
    "subscriptions": "subscription_id AS external_id, _account_ref AS account_id, plan,"
    " coalesce(status, CASE WHEN ended_at__v IS NULL THEN 'active' ELSE 'canceled' END) AS status,"
    " mrr__v AS mrr, currency__v AS currency, quantity__v AS quantity, billing_interval,"
    " started_at__v AS started_at, ended_at__v AS ended_at",
    "invoices": "invoice_id AS external_id, _account_ref AS account_id, subscription_id AS"
    " subscription_external_id, amount__v AS amount, currency__v AS currency, status,"
    " issued_at__v AS issued_at, paid_at__v AS paid_at",
    "tickets": "ticket_id AS external_id, _account_ref AS account_id, _contact_ref AS contact_id,"
    " subject, opened_at__v AS opened_at, closed_at__v AS closed_at, priority,"
    " coalesce(status, CASE WHEN closed_at__v IS NULL THEN 'open' ELSE 'closed' END) AS status,"
    " csat__v AS csat",
    "surveys": "response_id AS external_id, _account_ref AS account_id, _contact_ref AS contact_id,"
    " kind, score__v AS score, responded_at__v AS responded_at, comment",
    "spend": "spend_id AS external_id, month__v AS month, channel, amount__v AS amount,"
    " currency__v AS currency",
}
JSON_COLUMNS = {"attributes", "consent"}


def _valid_batches(
    con: duckdb.DuckDBPyConnection, staged: str, kind: str, source: str
) -> Iterator[list[dict[str, Any]]]:
    reader = con.execute(_valid_sql(staged, kind, source)).to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        rows = batch.to_pylist()
        for row in rows:
            for column in JSON_COLUMNS.intersection(row):
                row[column] = _clean_json(row[column])
        yield rows


def _valid_sql(staged: str, kind: str, source: str) -> str:
    """Return the query giving the staged valid rows of kind as the model's columns, in file order."""
    select = SELECTS[kind].replace("{source}", "'" + source.replace("'", "''") + "'")
    return f"SELECT {select} FROM {staged} WHERE _error IS NULL ORDER BY _row"


def _clean_json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    return {k: v for k, v in json.loads(text).items() if v is not None}


def _upsert_statement(session: Session, table: Table, columns: list[str]) -> Any:
    updates = [c for c in columns if c != "external_id"]
    return upsert(session, table, keys=["external_id"], update=updates)


def upsert_entities(
    session: Session,
    con: duckdb.DuckDBPyConnection,
    *,
    staged: str,
    kind: str,
    source: str,
    on_batch: Callable[[int], None],
) -> int:
    """Upsert the staged valid rows of an entity kind on external_id; return rows written."""
    table = MODELS[kind].__table__
    if session.get_bind().dialect.name == "postgresql":
        valid = _valid_sql(staged, kind, source)
        columns = JSON_COLUMNS.intersection(c.name for c in table.columns)
        return pg_copy.copy_upsert(
            session, con, table=table, select=valid, json_columns=columns, on_batch=on_batch
        )
    written = 0
    statement = None
    for rows in _valid_batches(con, staged, kind, source):
        if statement is None:
            statement = _upsert_statement(session, table, list(rows[0]))
        session.execute(statement, rows)
        written += len(rows)
        on_batch(len(rows))
    return written


def message_id_sql() -> str:
    """Return the SQL giving an event's message_id, derived from its content when absent."""
    return (
        "coalesce(message_id, 'gen-' || md5(concat_ws(chr(31), coalesce(account_id, '@' || email),"
        " coalesce(contact_id, ''), event, CAST(epoch_ms(timestamp__v) AS VARCHAR),"
        " coalesce(_properties, ''))))"
    )


def insert_events(
    con: duckdb.DuckDBPyConnection, *, staged: str, run_id: int, source: str, received_at: Any
) -> int:
    """Append the staged valid events not already in the warehouse; return how many were new."""
    before = con.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()[0]
    valid = (
        f"SELECT {message_id_sql()} AS message_id, * EXCLUDE (message_id) FROM (SELECT *,"
        f" {event_keys.properties_sql()} AS _properties FROM {staged} WHERE _error IS NULL)"
    )
    # Distinct 64-bit hashes prove distinct ids (cheaper than comparing strings); a collision
    # only sends the file through the exact window below.
    distinct = con.execute(f"SELECT count(*) = count(DISTINCT hash(message_id)) FROM ({valid})")
    dedupe = (
        ""
        if distinct.fetchone()[0]
        else " QUALIFY row_number() OVER (PARTITION BY s.message_id ORDER BY s._row) = 1"
    )
    con.execute(
        f"INSERT INTO {EVENTS} SELECT s.* EXCLUDE (_row) FROM (SELECT message_id,"
        " CAST(_account_ref AS INTEGER) AS account_id, _account_key AS account_external_id,"
        " _contact_key AS contact_external_id, event AS name, timestamp__v AS ts,"
        f" {minimised_sql('_properties')} AS properties, coalesce(source, ?) AS source,"
        " CAST(? AS TIMESTAMPTZ) AS received_at, CAST(? AS INTEGER) AS import_run_id, _row"
        f" FROM ({valid})) s ANTI JOIN {EVENTS} e ON e.message_id = s.message_id{dedupe}",
        [source, received_at, run_id],
    )
    return con.execute(f"SELECT count(*) FROM {EVENTS}").fetchone()[0] - before
