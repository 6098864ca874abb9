"""The personalisation variables a template sees for one account and contact."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Contact
from tenure.config import Settings


def message_context(
    session: Session, account: Account, contact: Contact, settings: Settings
) -> dict[str, Any]:
    """Return the variables for one contact's message (account and contact for now)."""
    return {
        "account": {
            "id": account.external_id,
            "name": account.name,
            "owner": account.owner,
        },
        "contact": {
            "id": contact.external_id,
            "name": contact.name,
            "first_name": (contact.name or "").split(" ")[0] or None,
            "email": contact.email,
            "role": contact.role,
            "locale": contact.locale,
            "timezone": contact.timezone,
        },
    }
