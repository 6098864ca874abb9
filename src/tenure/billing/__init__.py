"""Billing sources applied to the canonical tables (Stripe webhooks)."""
