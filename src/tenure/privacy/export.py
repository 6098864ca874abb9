"""Subject access and portability: a zip with one JSON file per kind of data and a README."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.config import Settings
from tenure.db.base import Base
from tenure.privacy.erase_app import _owned_condition
from tenure.privacy.subjects import Person, Subject

# Per person: kind → (table, how a row is theirs).
PERSON_KINDS = {
    "contact": ("contact", lambda t, p: t.c.id == p.id),
    "consent_history": ("contact_consent", lambda t, p: t.c.contact_id == p.id),
    "messages": ("message", lambda t, p: t.c.contact_id == p.id),
    "tickets": ("ticket", lambda t, p: t.c.contact_id == p.id),
    "survey_responses": ("survey_response", lambda t, p: t.c.contact_id == p.id),
    "journey_memberships": ("journey_enrollment", lambda t, p: t.c.contact_id == p.id),
    "inbox_events": ("event_inbox", lambda t, p: sa.or_(
        t.c.contact_external_id == p.external_id,
        sa.func.lower(t.c.contact_email) == (p.email or "").lower())),
    "email_provider_events": (
        "email_provider_event", lambda t, p: sa.func.lower(t.c.recipient) == (p.email or "").lower()
    ),
    "suppressions": ("suppression", lambda t, p: t.c.email == (p.email or "").lower()),
}  # fmt: skip
README = """# What Tenure holds about {subject}

Exported {at} by Tenure. One JSON file per kind of data; each is a list of records with
the columns Tenure stores. Times are UTC (ISO 8601), money is in minor units.

| file | records |
|---|---|
{rows}

Derived data (health scores, churn probabilities, segments, loyalty points) is computed per
account, not per person; it is in an account export. Staff-only records (the audit log) are
listed in audit_entries.json where they name this subject.
"""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(session: Session, table: sa.Table, where: Any) -> list[dict[str, Any]]:
    rows = session.execute(sa.select(table).where(where)).mappings().all()
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def person_records(session: Session, person: Person) -> dict[str, list[dict]]:
    """Return every app-DB record about a person, per kind."""
    out = {}
    for kind, (name, belongs) in PERSON_KINDS.items():
        table = Base.metadata.tables[name]
        out[kind] = _rows(session, table, belongs(table, person))
    return out


def account_records(session: Session, account_id: int) -> dict[str, list[dict]]:
    """Return every app-DB record owned by an account, per table."""
    out: dict[str, list[dict]] = {}
    seen: dict[str, Any] = {}
    account = Base.metadata.tables["account"]
    out["account"] = _rows(session, account, account.c.id == account_id)
    for table in Base.metadata.sorted_tables:
        if table.name in ("audit_log", "account"):
            continue
        cond = _owned_condition(table, account_id, seen)
        if cond is not None and (rows := _rows(session, table, cond)):
            out[table.name] = rows
    return out


def _audit_entries(session: Session, subject: Subject) -> list[dict]:
    audit = Base.metadata.tables["audit_log"]
    targets = [subject.key, *(f"contact:{p.id}" for p in subject.people)]
    return _rows(session, audit, audit.c.target.in_(targets))


def warehouse_events(settings: Settings, subject: Subject) -> list[dict]:
    """Return the subject's events from the warehouse (read-only)."""
    from tenure.warehouse.connection import open_warehouse

    if not settings.warehouse_path.exists():
        return []
    with open_warehouse(settings, read_only=True) as warehouse:
        if subject.kind == "account":
            query, params = "SELECT * FROM events WHERE account_id = ? ORDER BY ts", [subject.id]
        else:
            ids = [p.external_id for p in subject.people]
            query, params = "SELECT * FROM events WHERE contact_external_id = ? ORDER BY ts", ids
        table = warehouse.con.execute(query, params).fetch_arrow_table()
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]


def collect(session: Session, settings: Settings, subject: Subject) -> dict[str, list[dict]]:
    """Return everything held about a subject, per kind (app DB, warehouse, audit log)."""
    if subject.kind == "account":
        records = account_records(session, subject.id)
    else:
        records = person_records(session, subject.people[0])
    records["warehouse_events"] = warehouse_events(settings, subject)
    records["audit_entries"] = _audit_entries(session, subject)
    return records


def archive(subject: Subject, records: dict[str, list[dict]]) -> bytes:
    """Return the zip: one JSON file per kind and a README listing them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for kind, rows in sorted(records.items()):
            zipped.writestr(f"{kind}.json", json.dumps(rows, indent=1, default=str))
        table = "\n".join(f"| {k}.json | {len(v)} |" for k, v in sorted(records.items()))
        readme = README.format(subject=subject.key, at=clock.now().isoformat(), rows=table)
        zipped.writestr("README.md", readme)
    return buffer.getvalue()


def write_archive(path: Path, data: bytes) -> Path:
    """Write an export archive to a file (created with owner-only permissions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_bytes(data)
    return path
