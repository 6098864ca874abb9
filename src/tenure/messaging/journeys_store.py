"""Journeys in the app DB: load definitions, list, look up, pause, resume."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.errors import NotFound, StateConflict
from tenure.messaging.journeys_spec import JourneySpec, SendStep, read_journeys_file
from tenure.messaging.models import Journey, MessageTemplate

DEFAULTS_PATH = Path(__file__).with_name("journeys_defaults.toml")


@dataclass(frozen=True)
class LoadedJourney:
    """What loading did to one journey: created, updated (new version) or unchanged."""

    key: str
    action: str
    version: int
    missing_templates: tuple[str, ...]


def spec_of(journey: Journey) -> JourneySpec:
    """Return the validated definition stored on a journey row."""
    return JourneySpec.model_validate(journey.definition)


def save_journey(session: Session, spec: JourneySpec) -> LoadedJourney:
    """Create a journey or store a changed definition as its next version (status is kept)."""
    definition = spec.model_dump(mode="json")
    row = session.scalar(sa.select(Journey).where(Journey.key == spec.key))
    now = clock.now()
    missing = tuple(missing_templates(session, spec))
    if row is None:
        row = Journey(
            key=spec.key, name=spec.name, definition=definition, status="active",
            holdout_fraction=spec.holdout, version=1, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return LoadedJourney(spec.key, "created", 1, missing)
    if row.definition == definition:
        return LoadedJourney(spec.key, "unchanged", row.version, missing)
    row.definition, row.name, row.holdout_fraction = definition, spec.name, spec.holdout
    row.version, row.updated_at = row.version + 1, now
    session.flush()
    return LoadedJourney(spec.key, "updated", row.version, missing)


def missing_templates(session: Session, spec: JourneySpec) -> list[str]:
    """Return the `name@version` of templates a journey's sends pin that are not stored."""
    wanted: list[tuple[str, int | None]] = []
    for step in spec.steps:
        if isinstance(step, SendStep):
            if step.template:
                wanted.append((step.template, step.version))
            wanted.extend((v.template, v.version) for v in step.variants)
    missing = []
    for name, version in wanted:
        query = sa.select(MessageTemplate.id).where(MessageTemplate.name == name)
        if version is not None:
            query = query.where(MessageTemplate.version == version)
        if session.scalar(query.limit(1)) is None:
            missing.append(f"{name}@{version}" if version else name)
    return missing


def load_journeys_file(session: Session, path: Path) -> list[LoadedJourney]:
    """Validate a TOML/JSON file and save each of its journeys."""
    return [save_journey(session, spec) for spec in read_journeys_file(path)]


def load_default_journeys(session: Session) -> list[LoadedJourney]:
    """Save the packaged onboarding and at-risk win-back journeys."""
    return load_journeys_file(session, DEFAULTS_PATH)


def list_journeys(session: Session) -> list[Journey]:
    """Return every journey by key."""
    return list(session.scalars(sa.select(Journey).order_by(Journey.key)))


def get_journey(session: Session, key: str) -> Journey:
    """Return the journey with this key; raise NotFound."""
    row = session.scalar(sa.select(Journey).where(Journey.key == key))
    if row is None:
        raise NotFound(f"no journey {key!r}; `tenure journeys list` shows them")
    return row


def set_status(session: Session, key: str, status: str) -> Journey:
    """Pause or resume a journey (a paused journey neither enrols nor advances)."""
    row = get_journey(session, key)
    if row.status == status:
        raise StateConflict(f"journey {key!r} is already {status}")
    row.status, row.updated_at = status, clock.now()
    session.flush()
    return row
