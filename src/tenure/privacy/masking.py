"""Field-level masking of direct identifiers (emails, names, phone numbers) by role (pure).

Admins, managers and the account's CSM (account.owner == the user's email) see identifiers;
everyone else (analysts, viewers, other CSMs) sees them masked: `j***@example.com`,
`J*** D***`, `*********67`. Free text (ticket subjects, alert messages, event properties) has the emails
and phone numbers in it masked, and the names of the account's known contacts; another name
inside free text cannot be recognised.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

REVEALING_ROLES = ("admin", "manager")
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
# A run of 7+ digits, optionally with a leading + and spaces, dots, dashes or brackets inside.
PHONE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NAME_KEYS = frozenset(
    {"name", "first_name", "last_name", "full_name", "firstname", "lastname", "display_name"}
)
EMAIL_KEYS = frozenset({"email", "email_address", "user_email", "contact_email"})
PHONE_KEYS = frozenset({"phone", "phone_number", "mobile", "telephone", "tel"})


def reveals(role: str, user_email: str, account_owner: str | None) -> bool:
    """Tell whether a reader sees an account's people unmasked."""
    if role in REVEALING_ROLES:
        return True
    owner = (account_owner or "").strip().lower()
    return role == "csm" and bool(owner) and owner == user_email.strip().lower()


def mask_email(email: str) -> str:
    """Return `j***@example.com` for `jane.doe@example.com` (the domain stays)."""
    local, at, domain = email.rpartition("@")
    if not at:
        return mask_name(email)
    return f"{local[:1]}***@{domain}"


def mask_name(name: str) -> str:
    """Return `J*** D***` for `Jane Doe`: the first letter of each word."""
    return " ".join(f"{word[:1]}***" for word in name.split())


def mask_phone(phone: str) -> str:
    """Return the phone number with every digit but the last two starred."""
    digits = sum(char.isdigit() for char in phone)
    seen, out = 0, []
    for char in phone:
        if char.isdigit():
            seen += 1
            out.append(char if seen > digits - 2 else "*")
        else:
            out.append(char)
    return "".join(out)


def _phone_or_keep(match: re.Match[str]) -> str:
    """Mask a run of 7+ digits as a phone number; keep dates (2026-01-15) and short runs."""
    text = match.group(0)
    if ISO_DATE.search(text) or sum(c.isdigit() for c in text) < 7:
        return text
    return mask_phone(text)


def _names_pattern(names: Sequence[str]) -> re.Pattern[str] | None:
    """Return a pattern matching the known names and their words of 3+ letters."""
    words = {name.strip() for name in names if name and name.strip()}
    words |= {part for name in list(words) for part in name.split() if len(part) >= 3}
    if not words:
        return None
    ordered = sorted(words, key=len, reverse=True)  # the full name before its parts
    return re.compile(r"\b(" + "|".join(map(re.escape, ordered)) + r")\b", re.IGNORECASE)


def mask_text(text: str, names: Sequence[str] = ()) -> str:
    """Return free text with the emails, phone numbers and known names in it masked."""
    masked = EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    pattern = _names_pattern(names)
    if pattern is not None:
        masked = pattern.sub(lambda m: mask_name(m.group(0)), masked)
    return PHONE.sub(_phone_or_keep, masked)


def mask_field(key: str, value: Any, names: Sequence[str] = ()) -> Any:
    """Return a value masked by what its key says it is (or its text masked)."""
    if not isinstance(value, str):
        return mask_value(value, names)
    name = key.lower()
    if name in EMAIL_KEYS:
        return mask_email(value)
    if name in NAME_KEYS:
        return mask_name(value)
    if name in PHONE_KEYS:
        return mask_phone(value)
    return mask_text(value, names)


def mask_value(value: Any, names: Sequence[str] = ()) -> Any:
    """Return a JSON value with every identifier in it masked (dicts by key, text by pattern)."""
    if isinstance(value, dict):
        return {key: mask_field(str(key), item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_value(item, names) for item in value]
    if isinstance(value, str):
        return mask_text(value, names)
    return value


def mask_contact_id(contact_id: str | None, names: Sequence[str] = ()) -> str | None:
    """Return a contact's external id, masked when it is an email, a phone or a known name."""
    if contact_id is None:
        return None
    return mask_text(contact_id, names)
