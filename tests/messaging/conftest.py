"""Messaging fixtures: the loopback SMTP server of the alert tests."""

from __future__ import annotations

from tests.alerts.conftest import SmtpSink, smtp_sink

__all__ = ["SmtpSink", "smtp_sink"]
