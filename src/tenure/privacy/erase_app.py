"""Erase a subject from the app DB: delete their rows, keep invoices and MRR history on a
pseudonymous account, then scrub any identifier left in free text or JSON columns."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.db.base import Base
from tenure.privacy.subjects import Person, Subject

ERASED = "[erased]"
# Kept for another legal basis (bookkeeping, MRR history): re-pointed at a pseudonymous account.
KEPT_FOR_ACCOUNT = ("account", "subscription", "invoice")
# Never scrubbed: the append-only audit chain (ids only), the request log, staff users.
# Other contacts are other people: a shared name is not theirs to lose.
NOT_SCRUBBED = (
    "audit_log", "audit_chain_head", "privacy_request", "erased_identifier", "auth_user", "contact",
)  # fmt: skip


def _table(name: str) -> sa.Table:
    return Base.metadata.tables[name]


def _delete(session: Session, name: str, where: Any) -> int:
    return session.execute(sa.delete(_table(name)).where(where)).rowcount or 0


def erase_person(session: Session, person: Person) -> dict[str, int]:
    """Delete a contact and every row about them; detach tickets and surveys (kept, anonymous)."""
    t = Base.metadata.tables
    ids = [v.lower() for v in (person.external_id, person.email) if v]
    messages = sa.select(t["message"].c.id).where(t["message"].c.contact_id == person.id)
    enrolments = sa.select(t["journey_enrollment"].c.id).where(
        t["journey_enrollment"].c.contact_id == person.id
    )
    inbox, recent = t["event_inbox"], t["account_recent_event"]
    points = sa.select(t["loyalty_contact_movement"].c.id).where(
        t["loyalty_contact_movement"].c.contact_id == person.id
    )
    lowered = sa.func.lower
    deletions = {
        "outbox": ("alert_delivery", t["alert_delivery"].c.message_id.in_(messages)),
        "messages": ("message", t["message"].c.contact_id == person.id),
        "journey_steps": ("journey_step_run", t["journey_step_run"].c.enrollment_id.in_(enrolments)),
        "journey_enrollments": ("journey_enrollment", t["journey_enrollment"].c.contact_id == person.id),
        "consent": ("contact_consent", t["contact_consent"].c.contact_id == person.id),
        "loyalty_contact_entries": ("loyalty_contact_entry", t["loyalty_contact_entry"].c.movement_id.in_(points)),
        "loyalty_contact_movements": ("loyalty_contact_movement", t["loyalty_contact_movement"].c.id.in_(points)),
        "loyalty_contact_wallets": ("loyalty_contact_wallet", t["loyalty_contact_wallet"].c.contact_id == person.id),
        "inbox_events": ("event_inbox", sa.or_(
            lowered(inbox.c.contact_external_id).in_(ids), lowered(inbox.c.contact_email).in_(ids)
        )),
        "recent_events": ("account_recent_event", lowered(recent.c.contact_external_id).in_(ids)),
        "daily_users": ("usage_daily_user", lowered(t["usage_daily_user"].c.user).in_(ids)),
        "identity_links": ("identity_link", lowered(t["identity_link"].c.user_id).in_(ids)),
        "provider_events": ("email_provider_event", lowered(t["email_provider_event"].c.recipient).in_(ids)),
        "suppressions": ("suppression", lowered(t["suppression"].c.email).in_(ids)),
    }  # fmt: skip
    done = {kind: _delete(session, name, where) for kind, (name, where) in deletions.items()}
    for name, text_column in (("ticket", "subject"), ("survey_response", "comment")):
        table = t[name]
        done[f"{name}s_detached"] = session.execute(
            sa.update(table).where(table.c.contact_id == person.id)
            .values({"contact_id": None, text_column: None})
        ).rowcount or 0  # fmt: skip
    done["contacts"] = _delete(session, "contact", t["contact"].c.id == person.id)
    return done


def _owned_condition(table: sa.Table, account_id: int, seen: dict[str, Any]) -> Any | None:
    """Return a WHERE clause selecting table's rows that belong to an account (or None)."""
    if table.name in seen:
        return seen[table.name]
    seen[table.name] = None
    parts = []
    for column in table.columns:
        for fk in column.foreign_keys:
            parent = fk.column.table
            if parent.name == "account":
                parts.append(column == account_id)
            elif (
                parent.name not in KEPT_FOR_ACCOUNT
                and (cond := _owned_condition(parent, account_id, seen)) is not None
            ):
                parts.append(column.in_(sa.select(fk.column).where(cond)))
    seen[table.name] = sa.or_(*parts) if parts else None
    return seen[table.name]


def erase_account_rows(session: Session, subject: Subject) -> dict[str, int]:
    """Delete every row owned by the account except its subscriptions and invoices."""
    t = Base.metadata.tables
    done: dict[str, int] = {}
    ext = subject.external_id
    for name, column, value in (
        ("event_inbox", "account_external_id", ext), ("identity_link", "account_external_id", ext),
        ("experiment_assignment", "unit_id", ext), ("experiment_exposure", "unit_id", ext),
        ("experiment_assignment", "unit_id", str(subject.id)),
        ("experiment_exposure", "unit_id", str(subject.id)),
    ):  # fmt: skip
        done[name] = done.get(name, 0) + _delete(session, name, t[name].c[column] == value)
    seen: dict[str, Any] = {}
    movements = t["loyalty_movement"]
    session.execute(sa.update(movements).where(movements.c.account_id == subject.id)
                    .values(reverses_id=None))  # fmt: skip
    for table in reversed(Base.metadata.sorted_tables):
        if table.name in KEPT_FOR_ACCOUNT or table.name in NOT_SCRUBBED:
            continue
        cond = _owned_condition(table, subject.id, seen)
        if cond is not None and (count := _delete(session, table.name, cond)):
            done[table.name] = done.get(table.name, 0) + count
    return done


def pseudonymise_account(session: Session, account_id: int) -> str:
    """Replace the account's identifying fields with a random token; return the token."""
    token = f"erased-{secrets.token_hex(8)}"
    account = _table("account")
    session.execute(
        sa.update(account).where(account.c.id == account_id).values(
            external_id=token, name=f"Erased account {token[7:]}", owner=None, attributes={}
        )
    )  # fmt: skip
    return token


def replace_all(value: Any, needles: list[str], marker: str = ERASED) -> Any:
    """Return value (text or JSON) with every needle replaced by marker, case-insensitively."""
    if isinstance(value, str):
        for needle in needles:
            start = value.lower().find(needle.lower())
            while start >= 0:
                value = value[:start] + marker + value[start + len(needle) :]
                start = value.lower().find(needle.lower(), start + len(marker))
        return value
    if isinstance(value, dict):
        return {
            replace_all(k, needles, marker): replace_all(v, needles, marker)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [replace_all(v, needles, marker) for v in value]
    return value


def _text_columns(table: sa.Table) -> list[sa.Column]:
    kinds = (sa.String, sa.Text, sa.JSON)
    return [c for c in table.columns if isinstance(c.type, kinds) or "JSON" in str(c.type)]


def scrub_identifiers(session: Session, needles: list[str]) -> dict[str, int]:
    """Replace identifiers left in any text or JSON column (subjects, bodies, facts, notes)."""
    if not needles:
        return {}
    done: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_SCRUBBED:
            continue
        keys = list(table.primary_key.columns)
        for column in _text_columns(table):
            text = sa.func.lower(sa.cast(column, sa.Text))
            hits = sa.or_(*(text.contains(n.lower(), autoescape=True) for n in needles))
            for row in session.execute(sa.select(*keys, column).where(hits)).all():
                value = row[-1]
                cleaned = replace_all(value, needles)
                where = sa.and_(*(k == row[i] for i, k in enumerate(keys)))
                session.execute(sa.update(table).where(where).values({column.name: cleaned}))
                done[table.name] = done.get(table.name, 0) + 1
    return done


def erase_subject(session: Session, subject: Subject) -> dict[str, Any]:
    """Erase a contact or an account from the app DB; return counts per kind."""
    report: dict[str, Any] = {}
    for person in subject.people:
        for key, count in erase_person(session, person).items():
            report[key] = report.get(key, 0) + count
    if subject.kind == "account":
        report["account_rows"] = erase_account_rows(session, subject)
        report["account_pseudonym"] = pseudonymise_account(session, subject.id)
    session.flush()
    report["scrubbed"] = scrub_identifiers(session, subject.identifiers)
    return report
