"""Helpers of the journey tests: a journey from a dict, templates, counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tenure.messaging.journeys_spec import parse_journeys
from tenure.messaging.journeys_store import save_journey
from tenure.messaging.models import (
    Journey,
    JourneyEnrollment,
    JourneyStepRun,
    Message,
    MessageTemplate,
)

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


def add_template(session, name: str, version: int = 1, **fields: Any) -> MessageTemplate:
    """Store one marketing template version addressed to the contact."""
    values = {
        "subject": "Hi {{ contact.first_name }} ({{ account.name }})",
        "body": "<p>Hello {{ contact.name }}</p>",
        "text_body": "Hello {{ contact.name }}",
        "purpose": "marketing",
        "created_at": NOW,
    } | fields
    row = MessageTemplate(name=name, version=version, **values)
    session.add(row)
    session.flush()
    return row


def add_journey(session, **definition: Any) -> Journey:
    """Validate and save one journey (defaults: manual trigger, one send of `hello`)."""
    raw = {
        "key": "j1",
        "name": "Journey one",
        "trigger": {"kind": "manual"},
        "steps": [{"id": "hello", "kind": "send", "template": "hello", "version": 1}],
        "holdout": 0.0,
    } | definition
    (spec,) = parse_journeys({"journey": [raw]}, "test")
    save_journey(session, spec)
    return session.scalar(sa.select(Journey).where(Journey.key == spec.key))


def enrollments(session, key: str = "j1") -> list[JourneyEnrollment]:
    """Return a journey's enrollments by id."""
    query = (
        sa.select(JourneyEnrollment)
        .join(Journey, Journey.id == JourneyEnrollment.journey_id)
        .where(Journey.key == key)
        .order_by(JourneyEnrollment.id)
    )
    return list(session.scalars(query))


def step_runs(session, enrollment_id: int) -> dict[str, JourneyStepRun]:
    """Return an enrollment's step runs by step id."""
    query = sa.select(JourneyStepRun).where(JourneyStepRun.enrollment_id == enrollment_id)
    return {r.step_id: r for r in session.scalars(query)}


def messages(session) -> list[Message]:
    """Return every message by id."""
    return list(session.scalars(sa.select(Message).order_by(Message.id)))
