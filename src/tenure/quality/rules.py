"""What the data-quality report checks: required fields, cadences, weights and the bar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

BAR = 95.0
"""The seed's quality bar in percent; checks scoring below it are listed as pulling it down."""

WEIGHTS: dict[str, float] = {
    "completeness": 3.0,
    "completeness_optional": 0.0,
    "validity": 2.0,
    "uniqueness": 2.0,
    "referential": 3.0,
    "consistency": 2.0,
    "freshness": 1.0,
}
"""Weight of each check kind in the overall score; 0 means reported as information only.

Missing required fields and orphaned rows break downstream metrics outright (3); quarantined
input, duplicates and contradictory timestamps distort them (2); stale data is visible and
usually a scheduling problem (1). Optional fields (account industry, region, owner) only
narrow segmentation, so they are shown but not scored.
"""

FRESHNESS_ZERO_AT = 4.0
"""Freshness is 100 up to one cadence old and falls linearly to 0 at this many cadences."""

NULL_TOKENS = ("", "null", "none", "n/a", "nan")
"""Text values (after trim and lower-casing) that count as a missing field."""


@dataclass(frozen=True)
class TableSpec:
    """How one table is checked: its required and optional fields and its expected cadence."""

    name: str
    required: tuple[str, ...]
    newest: str
    cadence: timedelta
    optional: tuple[str, ...] = ()
    source: str | None = None
    key: str = "external_id"
    references_account: bool = True


ACCOUNT = TableSpec(
    "account",
    required=("name", "created_at"),
    optional=("industry", "region", "owner"),
    newest="created_at",
    cadence=timedelta(days=30),
    source="source",
    references_account=False,
)
CONTACT = TableSpec("contact", ("email",), "created_at", timedelta(days=30))
SUBSCRIPTION = TableSpec(
    "subscription", ("plan", "mrr", "currency", "started_at"), "started_at", timedelta(days=35)
)
INVOICE = TableSpec(
    "invoice", ("amount", "currency", "issued_at", "status"), "issued_at", timedelta(days=35)
)
TICKET = TableSpec("ticket", ("opened_at", "priority", "status"), "opened_at", timedelta(days=7))
SURVEY = TableSpec(
    "survey_response", ("kind", "score", "responded_at"), "responded_at", timedelta(days=30)
)
EVENTS = TableSpec(
    "events",
    required=("name", "ts", "account_id"),
    newest="ts",
    cadence=timedelta(days=1),
    source="source",
    key="message_id",
)

APP_TABLES: tuple[TableSpec, ...] = (ACCOUNT, CONTACT, SUBSCRIPTION, INVOICE, TICKET, SURVEY)
"""App-DB tables in report order; the warehouse's events come last."""

IMPORT_KIND_TABLES: dict[str, str] = {
    "accounts": "account",
    "contacts": "contact",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "tickets": "ticket",
    "surveys": "survey_response",
    "events": "events",
}
"""The table each canonical import kind loads; dataset kinds (telco, bank…) load several."""

DATASET_TABLE = "import"
"""Table name reported for validity of import kinds that load several tables."""


TABLE_ORDER = (*(spec.name for spec in APP_TABLES), EVENTS.name, "event_inbox", DATASET_TABLE)
CHECK_ORDER = tuple(WEIGHTS)
"""Order of checks in the report, most important first."""


def table_for_import_kind(kind: str) -> str:
    """Return the table an import kind loads, or `import` for multi-table datasets."""
    return IMPORT_KIND_TABLES.get(kind, DATASET_TABLE)
