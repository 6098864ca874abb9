"""The programme in force: load a TOML programme (or the packaged one), read it back."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.errors import NotFound
from tenure.loyalty.models import LoyaltyProgram
from tenure.loyalty.program import DEFAULT_PROGRAM, Program, load_program_file
from tenure.loyalty.rewards import sync_catalogue


def load_program(session: Session, path: Path | None) -> tuple[Program, dict[str, int]]:
    """Validate and store a programme (None: the packaged one); sync its rewards catalogue."""
    program, _ = load_program_file(path or DEFAULT_PROGRAM)
    previous = latest_program_row(session)
    row = LoyaltyProgram(
        name=program.name,
        document=program.model_dump(mode="json"),
        source=str(path or "defaults"),
        loaded_at=clock.now(),
        earned_through=previous.earned_through if previous is not None else None,
    )
    session.add(row)
    counts = sync_catalogue(session, program)
    session.flush()
    return program, counts


def latest_program_row(session: Session) -> LoyaltyProgram | None:
    """Return the newest loaded programme row (None before any load)."""
    query = sa.select(LoyaltyProgram).order_by(LoyaltyProgram.id.desc()).limit(1)
    return session.scalars(query).first()


def current_program(session: Session) -> Program | None:
    """Return the programme in force (None before any load)."""
    row = latest_program_row(session)
    return Program.model_validate(row.document) if row is not None else None


def require_program(session: Session) -> Program:
    """Return the programme in force, or NotFound telling how to load one."""
    program = current_program(session)
    if program is None:
        raise NotFound(
            "no loyalty programme is loaded: run `tenure loyalty program load FILE` "
            "or `tenure loyalty program load --defaults`"
        )
    return program
