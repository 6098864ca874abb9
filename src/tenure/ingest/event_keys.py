"""Events keyed by account, contact or email: extra columns kept, accounts resolved in SQL.

An events file names its account directly (``account_id``) or through a person: a contact's
``contact_id`` (the user id of a product-analytics tool) or an ``email``, resolved through the
contacts table copied into DuckDB. Columns that are not canonical become event properties,
typed as read (whole numbers, decimals, true/false, JSON, else text), unless the mapping lists
them under ``ignore`` or sends them to account attributes.
"""

from __future__ import annotations

import duckdb

from tenure.errors import InputError
from tenure.ingest.mapping import Mapping
from tenure.ingest.sql import ident, literal

SEP = "\x1f"  # the same separator as validate.SEP (field from reason inside _error)
KEYS = ("account_id", "contact_id", "email")
UNKNOWN_ACCOUNT = "unknown account "
SHOWN_USERS = 10


def split_extras(
    raw_columns: list[str], used: set[str], mapping: Mapping
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (columns kept as properties, columns ignored) of an events file."""
    attribute_columns = set(mapping.account_attributes.values())
    missing = sorted(attribute_columns - set(raw_columns))
    if missing:
        raise InputError(
            f"the mapping names column(s) {', '.join(missing)} under [accounts.attributes],"
            f" which the file does not have (columns found: {', '.join(raw_columns)})"
        )
    rest = [c for c in raw_columns if c not in used and c not in attribute_columns]
    kept = tuple(c for c in rest if c not in mapping.ignore)
    return kept, tuple(c for c in rest if c in mapping.ignore)


def require_a_key(columns: dict[str, str | None], mapping: Mapping, file: object) -> None:
    """Raise unless the file has a column (or default) that can name the account."""
    if not any(columns.get(k) or k in mapping.defaults for k in KEYS):
        raise InputError(
            f"{file}: events need a column naming the account: account_id, contact_id or"
            " email (map a user column to one of them with --mapping); nothing was imported"
        )


def typed_json(column: str) -> str:
    """Return SQL giving a text column's value as JSON: number, boolean, JSON or string."""
    col = f"NULLIF(trim({ident(column)}), '')"
    return (
        f"(CASE WHEN regexp_full_match({col}, '-?(0|[1-9][0-9]{{0,17}})')"
        f" THEN to_json(CAST({col} AS BIGINT))"
        f" WHEN regexp_full_match({col}, '-?(0|[1-9][0-9]*)\\.[0-9]+([eE][+-]?[0-9]+)?')"
        f" THEN to_json(CAST({col} AS DOUBLE))"
        f" WHEN lower({col}) IN ('true', 'false') THEN to_json(lower({col}) = 'true')"
        f" WHEN left({col}, 1) IN ('{{', '[') AND json_valid({col}) THEN CAST({col} AS JSON)"
        f" ELSE to_json({col}) END)"
    )


def inner_columns(kept: tuple[str, ...], mapping: Mapping) -> str:
    """Return the `_extras` and `_account_attributes` select items read from the raw table."""
    extras = "CAST(NULL AS JSON)"
    if kept:
        pairs = ", ".join(f"{literal(c)}, {typed_json(c)}" for c in kept)
        extras = f"json_object({pairs})"
    attributes = "CAST(NULL AS JSON)"
    if mapping.account_attributes:
        pairs = ", ".join(
            f"{literal(name)}, NULLIF(trim({ident(col)}), '')"
            for name, col in mapping.account_attributes.items()
        )
        attributes = f"json_object({pairs})"
    return f", {extras} AS _extras, {attributes} AS _account_attributes"


def joins(columns: dict[str, str | None], mapping: Mapping, refs: dict[str, str]) -> tuple:
    """Return (joins, select items) giving each event `_account_ref`, `_account_key`, `_contact_key`.

    An account_id in the row decides; without one the contact (by id), then the email does.
    Contact tables are joined only when the file can name a contact that way.
    """
    has = {k: bool(columns.get(k) or k in mapping.defaults) for k in KEYS}
    sql = f" LEFT JOIN {refs['account']} ra ON ra.external_id = t.account_id"
    via_ref, via_key, contact = [], [], "t.contact_id"
    if has["contact_id"]:
        sql += f" LEFT JOIN {refs['contact']} rc ON rc.external_id = t.contact_id"
        via_ref.append("rc.account_id")
        via_key.append("rc.account_external_id")
    if has["email"]:
        sql += f" LEFT JOIN {refs['contact_email']} rm ON rm.email = lower(t.email)"
        via_ref.append("rm.account_id")
        via_key.append("rm.account_external_id")
        contact = "coalesce(t.contact_id, rm.external_id)"
    ref, key = "ra.id", "t.account_id"
    if via_ref:
        ref = f"CASE WHEN t.account_id IS NULL THEN coalesce({', '.join(via_ref)}) ELSE ra.id END"
        key = f"coalesce(t.account_id, {', '.join(via_key)})"
    return sql, f", {ref} AS _account_ref, {key} AS _account_key, {contact} AS _contact_key"


def checks() -> list[str]:
    """Return the checks that quarantine events whose account cannot be found."""
    shown = "'''' || left({0}, 60) || ''''"
    return [
        f"CASE WHEN account_id IS NOT NULL AND _account_ref IS NULL THEN"
        f" {literal('account_id' + SEP + UNKNOWN_ACCOUNT)} || {shown.format('account_id')}"
        " || ' (import its account first)' END",
        f"CASE WHEN account_id IS NULL AND contact_id IS NOT NULL AND _account_ref IS NULL THEN"
        f" {literal('contact_id' + SEP)} || 'unknown contact ' || {shown.format('contact_id')}"
        " || ' (import contacts first, or map the user column to account_id)' END",
        f"CASE WHEN account_id IS NULL AND contact_id IS NULL AND email IS NOT NULL"
        f" AND _account_ref IS NULL THEN {literal('email' + SEP)} || 'no contact has email '"
        f" || {shown.format('email')} || ' (import contacts first)' END",
        f"CASE WHEN account_id IS NULL AND contact_id IS NULL AND email IS NULL THEN"
        f" {literal('account_id' + SEP + 'missing required value')} END",
    ]


def properties_sql() -> str:
    """Return SQL giving an event's properties: its extra columns overlaid by its properties."""
    return (
        "(CASE WHEN _extras IS NULL THEN properties ELSE CAST(json_merge_patch("
        "json_merge_patch('{}', _extras), coalesce(properties, '{}')) AS VARCHAR) END)"
    )


def create_email_refs(con: duckdb.DuckDBPyConnection, contacts: str) -> str:
    """Create the (email → one contact) table used to resolve events by email; return its name."""
    name = f"{contacts}_email"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT email, arg_min(external_id, id) AS"
        " external_id, arg_min(account_id, id) AS account_id, arg_min(account_external_id, id)"
        f" AS account_external_id FROM {contacts} WHERE email IS NOT NULL GROUP BY email"
    )
    return name


def unresolved_users(con: duckdb.DuckDBPyConnection, staged: str) -> tuple[list, int]:
    """Return ([(field, user, rows)] for the most frequent unresolved users, how many users)."""
    user = (
        "CASE split_part(_error, chr(31), 1) WHEN 'account_id' THEN account_id"
        " WHEN 'contact_id' THEN contact_id ELSE email END"
    )
    found = f"""
        SELECT split_part(_error, chr(31), 1) AS field, {user} AS user, count(*) AS n
        FROM {staged}
        WHERE _error LIKE 'account_id' || chr(31) || 'unknown account %'
           OR _error LIKE 'contact_id' || chr(31) || 'unknown contact %'
           OR _error LIKE 'email' || chr(31) || 'no contact has email %'
        GROUP BY ALL"""
    top = con.execute(
        f"SELECT field, user, n FROM ({found}) ORDER BY n DESC, user LIMIT {SHOWN_USERS}"
    ).fetchall()
    total = con.execute(f"SELECT count(*) FROM ({found})").fetchone()[0]
    return [tuple(r) for r in top], total
