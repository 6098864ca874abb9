"""The canonical file formats: which columns each import kind has and how each is checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal[
    "string", "int", "money", "currency", "timestamp", "month", "enum", "bool", "json", "email"
]


@dataclass(frozen=True)
class FieldSpec:
    """One canonical column: its type, whether it is required, and its allowed values."""

    name: str
    type: FieldType = "string"
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 255
    default: str | None = None


@dataclass(frozen=True)
class KindSpec:
    """An import kind: its canonical columns, key, references and target table."""

    kind: str
    table: str
    key: str | None
    fields: tuple[FieldSpec, ...]
    currency_of: dict[str, str] = field(default_factory=dict)
    references_contact: bool = False
    extras_to_attributes: bool = False
    duplicates_are_errors: bool = True

    def field(self, name: str) -> FieldSpec:
        """Return the field called name."""
        return next(f for f in self.fields if f.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        """Return the canonical column names in order."""
        return tuple(f.name for f in self.fields)


def _id(name: str, required: bool = True) -> FieldSpec:
    return FieldSpec(name, "string", required=required, max_length=128)


_ACCOUNT_REF = _id("account_id")
_CURRENCY = FieldSpec("currency", "currency", required=True)

KINDS: dict[str, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            "accounts",
            "account",
            "account_id",
            (
                _id("account_id"),
                FieldSpec("name", required=True),
                FieldSpec("created_at", "timestamp", required=True),
                FieldSpec("industry", max_length=64),
                FieldSpec("region", max_length=64),
                FieldSpec("owner"),
            ),
            extras_to_attributes=True,
        ),
        KindSpec(
            "contacts",
            "contact",
            "contact_id",
            (
                _id("contact_id"),
                _ACCOUNT_REF,
                FieldSpec("email", "email", max_length=320),
                FieldSpec("name"),
                FieldSpec("role", max_length=64),
                FieldSpec("created_at", "timestamp"),
                FieldSpec("consent_email", "bool"),
                FieldSpec("consent_sms", "bool"),
            ),
        ),
        KindSpec(
            "subscriptions",
            "subscription",
            "subscription_id",
            (
                _id("subscription_id"),
                _ACCOUNT_REF,
                FieldSpec("plan", required=True, max_length=64),
                FieldSpec(
                    "status",
                    "enum",
                    choices=("trialing", "active", "past_due", "paused", "canceled"),
                ),
                FieldSpec("mrr", "money", required=True),
                _CURRENCY,
                FieldSpec("quantity", "int", minimum=0, default="1"),
                FieldSpec(
                    "billing_interval",
                    "enum",
                    choices=("month", "quarter", "year"),
                    default="month",
                ),
                FieldSpec("started_at", "timestamp", required=True),
                FieldSpec("ended_at", "timestamp"),
            ),
            currency_of={"mrr": "currency"},
        ),
        KindSpec(
            "invoices",
            "invoice",
            "invoice_id",
            (
                _id("invoice_id"),
                _ACCOUNT_REF,
                _id("subscription_id", required=False),
                FieldSpec("amount", "money", required=True),
                _CURRENCY,
                FieldSpec(
                    "status",
                    "enum",
                    required=True,
                    choices=("paid", "failed", "refunded", "open", "void"),
                ),
                FieldSpec("issued_at", "timestamp", required=True),
                FieldSpec("paid_at", "timestamp"),
            ),
            currency_of={"amount": "currency"},
        ),
        KindSpec(
            "tickets",
            "ticket",
            "ticket_id",
            (
                _id("ticket_id"),
                _ACCOUNT_REF,
                _id("contact_id", required=False),
                FieldSpec("subject", max_length=2000),
                FieldSpec("opened_at", "timestamp", required=True),
                FieldSpec("closed_at", "timestamp"),
                FieldSpec(
                    "priority",
                    "enum",
                    choices=("low", "normal", "high", "urgent"),
                    default="normal",
                ),
                FieldSpec(
                    "status", "enum", choices=("new", "open", "pending", "hold", "solved", "closed")
                ),
                FieldSpec("csat", "int", minimum=1, maximum=5),
            ),
            references_contact=True,
        ),
        KindSpec(
            "surveys",
            "survey_response",
            "response_id",
            (
                _id("response_id"),
                _ACCOUNT_REF,
                _id("contact_id", required=False),
                FieldSpec("kind", "enum", required=True, choices=("nps", "csat")),
                FieldSpec("score", "int", required=True, minimum=0, maximum=10),
                FieldSpec("responded_at", "timestamp", required=True),
                FieldSpec("comment", max_length=4000),
            ),
            references_contact=True,
        ),
        KindSpec(
            "events",
            "events",
            "message_id",
            (
                _id("message_id", required=False),
                _id("account_id", required=False),
                _id("contact_id", required=False),
                FieldSpec("email", "email", max_length=320),
                FieldSpec("event", required=True, max_length=128),
                FieldSpec("timestamp", "timestamp", required=True),
                FieldSpec("properties", "json", max_length=65536),
                FieldSpec("source", max_length=32),
            ),
            duplicates_are_errors=False,
        ),
        KindSpec(
            "spend",
            "marketing_spend",
            "spend_id",
            (
                _id("spend_id"),
                FieldSpec("month", "month", required=True),
                FieldSpec("channel", max_length=64),
                FieldSpec("amount", "money", required=True),
                _CURRENCY,
            ),
            currency_of={"amount": "currency"},
        ),
    )
}

ENTITY_KINDS = ("accounts", "contacts", "subscriptions", "invoices", "tickets", "surveys", "spend")
ALL_KINDS = (*ENTITY_KINDS, "events")
