"""Messaging fixtures: the loopback SMTP server of the alert tests; the consent world."""

from __future__ import annotations

from tests.alerts.conftest import SmtpSink, smtp_sink
from tests.messaging.consent_world import migrated_db, public_client, world

__all__ = ["SmtpSink", "migrated_db", "public_client", "smtp_sink", "world"]
