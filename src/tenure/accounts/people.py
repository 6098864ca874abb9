"""Read-only copies of rows that name people, with identifiers masked for a reader who may not
see them (tenure.privacy.masking); the ORM rows themselves are never changed.

`names` are the known contact names of the accounts concerned: they are masked in free text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from tenure.accounts.models import Contact
from tenure.accounts.schemas import Reader
from tenure.privacy.masking import (
    mask_contact_id,
    mask_email,
    mask_field,
    mask_name,
    mask_text,
    mask_value,
)


def contact_names(db_session: Session, account_ids: Collection[int]) -> list[str]:
    """Return the names of the contacts of some accounts (to mask them in free text)."""
    if not account_ids:
        return []
    query = sa.select(Contact.name).where(
        Contact.account_id.in_(list(account_ids)), Contact.name.is_not(None)
    )
    return list(db_session.scalars(query.distinct()))


def _copy(row: Any, **changes: Any) -> SimpleNamespace:
    """Return a plain copy of an ORM row's columns with some values replaced."""
    values = {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}
    return SimpleNamespace(**{**values, **changes})


def masked_events(events: Iterable[Any], names: Sequence[str] = ()) -> list[SimpleNamespace]:
    """Return events with contact ids, contact emails and properties masked."""
    out = []
    for event in events:
        changes = {
            "contact_external_id": mask_contact_id(event.contact_external_id, names),
            "properties": mask_value(event.properties or {}, names),
        }
        if hasattr(event, "contact_email"):
            changes["contact_email"] = mask_contact_id(event.contact_email, names)
        out.append(_copy(event, **changes))
    return out


def masked_tickets(tickets: Iterable[Any], names: Sequence[str] = ()) -> list[SimpleNamespace]:
    """Return tickets with the identifiers in their subjects masked."""
    return [
        _copy(t, subject=mask_text(t.subject, names) if t.subject else t.subject) for t in tickets
    ]


def masked_alerts(alerts: Iterable[Any], names: Sequence[str] = ()) -> list[SimpleNamespace]:
    """Return alerts with the identifiers in their message and facts masked."""
    return [
        _copy(a, message=mask_text(a.message or "", names), facts=mask_value(a.facts or {}, names))
        for a in alerts
    ]


def masked_contacts(contacts: Iterable[Any], names: Sequence[str] = ()) -> list[SimpleNamespace]:
    """Return contacts with external id, name and email masked."""
    return [
        _copy(
            c,
            external_id=mask_contact_id(c.external_id, names),
            name=mask_name(c.name) if c.name else c.name,
            email=mask_email(c.email) if c.email else c.email,
        )
        for c in contacts
    ]


def masked_lines(
    lines: Iterable[dict[str, Any]], fields: Collection[str], names: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Return JSON lines with the identifiers in some of their fields masked (by field name)."""
    return [
        {
            k: mask_field(k, v, names) if k in fields and v is not None else v
            for k, v in line.items()
        }
        for line in lines
    ]


def lines_for(
    db_session: Session,
    reader: Reader,
    owned: Iterable[tuple[dict[str, Any], int, str | None]],
    fields: Collection[str],
) -> list[dict[str, Any]]:
    """Return (line, account id, account owner) lines, masked where the reader may not see people."""
    owned = list(owned)
    hidden = {i for _, i, owner in owned if not reader.sees_people_of(owner)}
    names = contact_names(db_session, hidden)
    return [
        masked_lines([line], fields, names)[0] if account_id in hidden else line
        for line, account_id, _ in owned
    ]
