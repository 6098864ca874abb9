"""Create the accounts an events file names but the app DB lacks (`--create-accounts`).

Each new account is keyed and named by the file's account id, created at its first valid event,
with the mapped account attributes as of its latest event. The events that waited for it are
then released from quarantine in the staged table, so they land in the same import.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.ingest.event_keys import SEP, UNKNOWN_ACCOUNT
from tenure.ingest.sql import literal

BATCH_ROWS = 5_000


def _waiting(staged: str) -> str:
    """Return the WHERE clause of rows quarantined only because their account is unknown."""
    return f"_error LIKE {literal('account_id' + SEP + UNKNOWN_ACCOUNT + '%')}"


def new_accounts(con: duckdb.DuckDBPyConnection, staged: str, source: str) -> list[dict[str, Any]]:
    """Return the rows of the accounts to create: id, name, first event, latest attributes."""
    found = con.execute(
        f"SELECT account_id AS external_id, account_id AS name, min(timestamp__v) AS created_at,"
        f" CAST(arg_max(_account_attributes, timestamp__v) AS VARCHAR) AS attributes"
        f" FROM {staged} WHERE {_waiting(staged)} GROUP BY account_id ORDER BY account_id"
    ).fetchall()
    return [
        {
            "external_id": external_id,
            "name": name,
            "created_at": created_at,
            "attributes": _present(attributes),
            "source": source,
        }
        for external_id, name, created_at, attributes in found
    ]


def _present(attributes: str | None) -> dict[str, Any]:
    if not attributes:
        return {}
    return {k: v for k, v in json.loads(attributes).items() if v is not None}


def create_accounts(
    con: duckdb.DuckDBPyConnection, session: Session, *, staged: str, source: str
) -> int:
    """Insert the accounts the staged events wait for; release those events; return how many."""
    accounts = new_accounts(con, staged, source)
    if not accounts:
        return 0
    for start in range(0, len(accounts), BATCH_ROWS):
        session.execute(insert(Account), accounts[start : start + BATCH_ROWS])
    session.flush()
    ids = pd.DataFrame(
        session.execute(select(Account.external_id, Account.id)).all(),
        columns=["external_id", "id"],
    ).astype({"external_id": "string", "id": "int64"})
    con.register("created_accounts_df", ids)
    try:
        con.execute(
            f"UPDATE {staged} SET _account_ref = a.id, _error = NULL FROM created_accounts_df a"
            f" WHERE a.external_id = {staged}.account_id AND {_waiting(staged)}"
        )
    finally:
        con.unregister("created_accounts_df")
    return len(accounts)
