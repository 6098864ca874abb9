"""The documented personalisation variables: the schema templates are validated against."""

from __future__ import annotations

# Top-level variable -> the attributes a template may read from it (docs/messaging.md).
VARIABLES: dict[str, tuple[str, ...]] = {
    "account": (
        "id",
        "name",
        "plan",
        "mrr",
        "mrr_minor",
        "currency",
        "owner",
        "csm",
        "renewal_date",
        "days_to_renewal",
        "industry",
        "region",
    ),
    "contact": ("id", "name", "first_name", "email", "role", "locale", "timezone"),
    "health": ("tier", "score", "reasons", "top_reason", "as_of"),
    "churn": (
        "risk_tier",
        "probability",
        "drivers",
        "driver_codes",
        "top_driver",
        "top_driver_text",
        "as_of",
    ),
    "usage": ("features_used", "features_unused", "events_30d", "active_days_30d"),
    "loyalty": (
        "points",
        "balance",
        "tier",
        "tier_name",
        "next_tier",
        "points_to_next_tier",
        "expiring_30d",
        "expiring_on",
        "last_badge",
        "last_badge_name",
        "streak_weeks",
    ),
    "footer": ("unsubscribe_url", "preferences_url", "postal_address"),
    "message": ("subject", "preheader"),
    "blocks": (),  # the template's own content-block names
}

# Fields a content-block rule may compare (list fields: `==` means contains).
RULE_FIELDS: tuple[str, ...] = (
    "account.plan",
    "account.mrr_minor",
    "account.days_to_renewal",
    "account.industry",
    "account.region",
    "contact.role",
    "contact.locale",
    "health.tier",
    "health.score",
    "churn.risk_tier",
    "churn.probability",
    "churn.top_driver",
    "churn.driver_codes",
    "usage.events_30d",
    "usage.active_days_30d",
    "usage.features_used",
    "usage.features_unused",
    "loyalty.tier",
    "loyalty.balance",
    "loyalty.expiring_30d",
)


def known_attribute(variable: str, attribute: str, blocks: tuple[str, ...] | None) -> bool:
    """Tell whether variable.attribute is documented (any block name when blocks is None)."""
    if variable == "blocks":
        return blocks is None or attribute in blocks
    return attribute in VARIABLES.get(variable, ())
