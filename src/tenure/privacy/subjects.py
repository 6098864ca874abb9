"""Who a privacy request is about: a contact or an account, its rows and its identifiers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Contact
from tenure.errors import InputError, NotFound

MIN_IDENTIFIER = 4  # shorter strings are too common to search for in free text


def digest(value: str) -> str:
    """Return the SHA-256 hex of an identifier, trimmed and lower-cased."""
    return hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Person:
    """A contact's row ids and the strings that identify them."""

    id: int
    account_id: int
    external_id: str
    email: str | None
    name: str | None

    @property
    def identifiers(self) -> list[str]:
        """Return the strings that name this person (email, external id, name)."""
        values = (self.email, self.external_id, self.name)
        return [v.strip() for v in values if v and len(v.strip()) >= MIN_IDENTIFIER]


@dataclass(frozen=True)
class Subject:
    """A contact (one person) or an account (the company and all its contacts)."""

    kind: str  # contact | account
    id: int
    external_id: str
    people: tuple[Person, ...]
    account_name: str | None = None
    extra: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """Return the subject's reference, e.g. contact:12."""
        return f"{self.kind}:{self.id}"

    @property
    def identifiers(self) -> list[str]:
        """Return every string to search for: the people's, the account's name and id."""
        found = [i for p in self.people for i in p.identifiers]
        if self.kind == "account":
            found += [v for v in (self.account_name, self.external_id) if v]
        found += list(self.extra)
        unique = {v.lower(): v for v in found if len(v) >= MIN_IDENTIFIER}
        return sorted(unique.values(), key=len, reverse=True)

    def digests(self) -> list[tuple[str, str]]:
        """Return (kind, SHA-256) of the ids and emails to put on the erased list."""
        out = [("contact", digest(p.external_id)) for p in self.people]
        out += [("email", digest(p.email)) for p in self.people if p.email]
        if self.kind == "account":
            out.append(("account", digest(self.external_id)))
        return list(dict.fromkeys(out))


def _person(row: Contact) -> Person:
    return Person(row.id, row.account_id, row.external_id, row.email, row.name)


def find_contact(session: Session, ref: str) -> Contact | None:
    """Return the contact a reference names (id, external id or email), or None."""
    found = session.get(Contact, int(ref)) if ref.strip().isdigit() else None
    if found is not None:
        return found
    query = sa.select(Contact).where(
        sa.or_(Contact.external_id == ref, sa.func.lower(Contact.email) == ref.strip().lower())
    )
    return session.scalars(query.order_by(Contact.id)).first()


def find_account(session: Session, ref: str) -> Account | None:
    """Return the account a reference names (id or external id), or None."""
    found = session.get(Account, int(ref)) if ref.strip().isdigit() else None
    query = sa.select(Account).where(Account.external_id == ref)
    return found or session.scalars(query).first()


def resolve(session: Session, *, contact: str | None = None, account: str | None = None) -> Subject:
    """Return the subject of a request, or raise NotFound / InputError."""
    if (contact is None) == (account is None):
        raise InputError("privacy: give exactly one of contact or account")
    if contact is not None:
        row = find_contact(session, contact)
        if row is None:
            raise NotFound(f"privacy: no contact with id, external id or email {contact!r}")
        return Subject("contact", row.id, row.external_id, (_person(row),))
    company = find_account(session, account or "")
    if company is None:
        raise NotFound(f"privacy: no account with id or external id {account!r}")
    rows = session.scalars(sa.select(Contact).where(Contact.account_id == company.id))
    people = tuple(_person(r) for r in rows)
    phones = [str(v) for k, v in (company.attributes or {}).items() if "phone" in k.lower() and v]
    return Subject("account", company.id, company.external_id, people, company.name, tuple(phones))


def request_digest(*, contact: str | None = None, account: str | None = None) -> str:
    """Return the digest that identifies a request's reference (for idempotent retries)."""
    return digest(f"contact:{contact}" if contact is not None else f"account:{account}")
