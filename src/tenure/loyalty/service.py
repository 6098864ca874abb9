"""The programme in force: load a TOML programme (or the packaged one), read it back."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.errors import NotFound
from tenure.loyalty.ledger import Executor, connection_of
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


# (database, row, loaded at, source file) → the parsed programme; a recycled test schema
# restarts ids under a frozen clock, so the source file (a fresh path per test) is in the key
_PARSED: dict[tuple[str, int, datetime, str], Program] = {}
NEWEST = (
    sa.select(LoyaltyProgram.id, LoyaltyProgram.loaded_at, LoyaltyProgram.source)
    .order_by(LoyaltyProgram.id.desc())
    .limit(1)
)


def current_program(session: Executor) -> Program | None:
    """Return the programme in force (None before any load), parsed once per programme row."""
    connection = connection_of(session)
    newest = connection.execute(NEWEST).first()
    if newest is None:
        return None
    key = (str(connection.engine.url), newest.id, newest.loaded_at, newest.source)
    if key not in _PARSED:
        document = connection.execute(
            sa.select(LoyaltyProgram.document).where(LoyaltyProgram.id == newest.id)
        ).scalar_one()
        if len(_PARSED) > 16:
            _PARSED.clear()
        _PARSED[key] = Program.model_validate(document)
    return _PARSED[key]


def require_program(session: Executor) -> Program:
    """Return the programme in force, or NotFound telling how to load one."""
    program = current_program(session)
    if program is None:
        raise NotFound(
            "no loyalty programme is loaded: run `tenure loyalty program load FILE` "
            "or `tenure loyalty program load --defaults`"
        )
    return program
