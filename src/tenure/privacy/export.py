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
from tenure.privacy.erase_app import NOT_SCRUBBED, _owned_condition, _text_columns
from tenure.privacy.subjects import Person, Subject


def _ids(person: Person) -> list[str]:
    """Return the person's external id and email, lower-cased (how events and usage name them)."""
    return [v.lower() for v in (person.external_id, person.email) if v]


def _of_enrolments(person: Person) -> Any:
    enrolments = Base.metadata.tables["journey_enrollment"]
    return sa.select(enrolments.c.id).where(enrolments.c.contact_id == person.id)


def _of_messages(person: Person) -> Any:
    messages = Base.metadata.tables["message"]
    return sa.select(messages.c.id).where(messages.c.contact_id == person.id)


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
    "journey_steps": ("journey_step_run", lambda t, p: t.c.enrollment_id.in_(_of_enrolments(p))),
    "outbox": ("alert_delivery", lambda t, p: t.c.message_id.in_(_of_messages(p))),
    "recent_events": ("account_recent_event",
                      lambda t, p: sa.func.lower(t.c.contact_external_id).in_(_ids(p))),
    "daily_usage": ("usage_daily_user", lambda t, p: sa.func.lower(t.c.user).in_(_ids(p))),
    "identity_links": ("identity_link", lambda t, p: sa.func.lower(t.c.user_id).in_(_ids(p))),
    "experiment_assignments": ("experiment_assignment", lambda t, p: t.c.unit_id == p.external_id),
    "experiment_exposures": ("experiment_exposure", lambda t, p: t.c.unit_id == p.external_id),
    "loyalty_leaderboard_choice": ("loyalty_leaderboard_optin", lambda t, p: t.c.contact_id == p.id),
    "loyalty_contact_scores": ("loyalty_contact_score", lambda t, p: t.c.contact_id == p.id),
    "loyalty_contact_wallet": ("loyalty_contact_wallet", lambda t, p: t.c.contact_id == p.id),
    "loyalty_contact_ledger": ("loyalty_contact_movement", lambda t, p: t.c.contact_id == p.id),
}  # fmt: skip
# Per account, beyond the rows its foreign keys own: rows keyed by its external id or id.
ACCOUNT_KEYED = (
    ("event_inbox", "account_external_id"), ("identity_link", "account_external_id"),
    ("experiment_assignment", "unit_id"), ("experiment_exposure", "unit_id"),
)  # fmt: skip
README = """# What Tenure holds about {subject}

Exported {at} by Tenure. One JSON file per kind of data; each is a list of records with
the columns Tenure stores. Times are UTC (ISO 8601), money is in minor units.

| file | records |
|---|---|
{rows}

Derived data (health scores, churn probabilities, segments, loyalty points) is computed per
account, not per person; it is in an account export. Staff-only records (the audit log) are
listed in audit_entries.json where they name this subject; mentions.json lists other records
whose text names them, with the table each comes from.
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
    """Return every app-DB record about a person, per kind, and the rows that mention them."""
    out = {}
    for kind, (name, belongs) in PERSON_KINDS.items():
        table = Base.metadata.tables[name]
        out[kind] = _rows(session, table, belongs(table, person))
    held: dict[str, list[dict]] = {}
    for kind, (name, _) in PERSON_KINDS.items():
        held.setdefault(name, []).extend(out[kind])
    out["mentions"] = mentions(session, person.identifiers, held)
    return out


def account_records(session: Session, subject: Subject) -> dict[str, list[dict]]:
    """Return every app-DB record owned by an account, per table, and rows naming its people."""
    out: dict[str, list[dict]] = {}
    seen: dict[str, Any] = {}
    account = Base.metadata.tables["account"]
    out["account"] = _rows(session, account, account.c.id == subject.id)
    for table in Base.metadata.sorted_tables:
        if table.name in ("audit_log", "account"):
            continue
        conds = [_owned_condition(table, subject.id, seen)]
        keys = (subject.external_id, str(subject.id))
        conds += [table.c[col].in_(keys) for name, col in ACCOUNT_KEYED if name == table.name]
        conds = [c for c in conds if c is not None]
        if conds and (rows := _rows(session, table, sa.or_(*conds))):
            out[table.name] = rows
    _add_people_rows(session, subject, out)
    needles = [i for p in subject.people for i in p.identifiers]
    out["mentions"] = mentions(session, needles, out)
    return out


def _add_people_rows(session: Session, subject: Subject, out: dict[str, list[dict]]) -> None:
    """Add the rows about the account's contacts that no foreign key ties to the account."""
    for name, belongs in PERSON_KINDS.values():
        table = Base.metadata.tables[name]
        held = out.setdefault(name, [])
        for person in subject.people:
            held += [
                row for row in _rows(session, table, belongs(table, person)) if row not in held
            ]
        if not held:
            del out[name]


def mentions(session: Session, needles: list[str], held: dict[str, list[dict]]) -> list[dict]:
    """Return rows whose text or JSON names the person (as erasure scrubs them), not yet held."""
    if not needles:
        return []
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_SCRUBBED:
            continue
        texts = [sa.func.lower(sa.cast(c, sa.Text)) for c in _text_columns(table)]
        hits = [t.contains(n.lower(), autoescape=True) for t in texts for n in needles]
        rows = _rows(session, table, sa.or_(*hits)) if hits else []
        found += [{"table": table.name, **r} for r in rows if r not in held.get(table.name, [])]
    return found


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
        records = account_records(session, subject)
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
