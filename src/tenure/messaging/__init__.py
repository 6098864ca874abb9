"""Messaging: templates, journeys, consent, suppression and tracking (one outbox with alerts)."""
