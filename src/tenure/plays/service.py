"""Load plays and run them for a day: admit accounts, split treated/holdout, act on the treated."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.schemas import Money
from tenure.accounts.service import mrr_in_force
from tenure.auth.service import audit
from tenure.config import Settings
from tenure.errors import NotFound
from tenure.experiments.assignment import bucket
from tenure.experiments.holdout import in_global_holdout
from tenure.plays import actions, entering, triggers
from tenure.plays.definitions import DEFAULTS_FILE, PlayDefinition, read_plays
from tenure.plays.models import Play, PlayRun


@dataclass
class PlayDay:
    """What running one play for one day did."""

    play: str
    triggered: int = 0
    eligible: int = 0
    treated: int = 0
    holdout: int = 0
    global_holdout: int = 0
    actions: dict[str, int] = field(default_factory=dict)


def save_play(session: Session, definition: PlayDefinition, actor: str = "cli") -> Play:
    """Insert or update a play from its definition (a zero holdout is audited with its reason)."""
    now = clock.now()
    play = session.scalar(sa.select(Play).where(Play.key == definition.key))
    if play is None:
        play = Play(key=definition.key, created_at=now)
        session.add(play)
    play.name = definition.name
    play.definition = definition.model_dump(mode="json")
    play.holdout_fraction = definition.holdout_fraction
    play.holdout_reason = definition.holdout_reason
    play.updated_at = now
    session.flush()
    if definition.holdout_fraction == 0:
        audit(
            session,
            actor=actor,
            action="play.holdout_zero",
            target=f"play:{play.key}",
            detail={"reason": definition.holdout_reason},
        )
    return play


def load_plays(session: Session, path: Path | None, actor: str = "cli") -> list[Play]:
    """Load a plays file (the packaged defaults when path is None)."""
    return [save_play(session, d, actor) for d in read_plays(path or DEFAULTS_FILE)]


def get_play(session: Session, key: str) -> Play:
    """Return a play by key, NotFound otherwise."""
    play = session.scalar(sa.select(Play).where(Play.key == key))
    if play is None:
        raise NotFound(f"no play {key!r}")
    return play


def list_plays(session: Session) -> list[Play]:
    """Return every play by key."""
    return list(session.scalars(sa.select(Play).order_by(Play.key)))


def play_runs(session: Session, play: Play) -> list[PlayRun]:
    """Return every run of a play."""
    return list(session.scalars(sa.select(PlayRun).where(PlayRun.play_id == play.id)))


def arm_of(play_key: str, account_external_id: str, fraction: float) -> str:
    """Return the account's arm in a play: a salted hash below the holdout fraction is holdout."""
    return "holdout" if bucket(f"play:{play_key}", account_external_id) < fraction else "treated"


def _enter(
    session: Session,
    settings: Settings,
    play: Play,
    definition: PlayDefinition,
    accounts: list[actions.AccountRef],
    day: date,
    why: dict[int, str],
    mrr: dict[int, int],
) -> list[entering.Entered]:
    """Insert the accounts' runs in bulk and take the play's actions for the treated ones."""
    arms = {a.id: arm_of(play.key, a.external_id, play.holdout_fraction) for a in accounts}
    run_ids = entering.insert_runs(session, play, definition, day, arms, why, mrr)
    goal_on = day + timedelta(days=definition.goal.horizon_days)
    entered = [
        entering.Entered(a, arms[a.id], actions.RunRef(run_ids[a.id], why[a.id][:255], day,
                         goal_on), [])
        for a in accounts
    ]  # fmt: skip
    treated = [e for e in entered if e.arm == "treated"]
    entering.perform_all(session, settings, definition, treated, day)
    entering.record_actions(session, treated)
    return entered


def _count(result: PlayDay, entered: list[entering.Entered]) -> None:
    """Add the entered runs to the day's counts by arm and by action outcome."""
    for e in entered:
        setattr(result, e.arm, getattr(result, e.arm) + 1)
        for record in e.records:
            key = f"{record['kind']}:{record['status']}"
            result.actions[key] = result.actions.get(key, 0) + 1


def _mrr(session: Session, settings: Settings, day: date, account_ids: list[int]) -> dict[int, int]:
    """Return MRR in force on day of the accounts (chunked IN lists)."""
    money, found = Money.from_settings(settings), {}
    for chunk in entering.chunks(sorted(account_ids)):
        found.update(mrr_in_force(db_session=session, day=day, money=money, account_ids=chunk))
    return found


def run_play(
    session: Session, settings: Settings, play: Play, day: date, accounts: list[int] | None = None
) -> PlayDay:
    """Admit the triggered (or the given) accounts on day and act on the treated ones."""
    definition = PlayDefinition.model_validate(play.definition)
    result = PlayDay(play.key)
    if accounts is None:
        found = triggers.triggered(session, definition.trigger, day)
    else:
        found = {a: "manual" for a in accounts}
    result.triggered = len(found)
    admitted = triggers.eligible(session, play.id, definition.eligibility, day, found)
    mrr = _mrr(session, settings, day, list(admitted))
    admitted = {a for a in admitted if mrr.get(a, 0) > 0}  # a churned account has nothing to keep
    result.eligible = len(admitted)
    rows = entering.load_accounts(session, list(admitted))
    outside = [a for a in rows if not in_global_holdout(a.external_id, settings)]
    result.global_holdout = len(rows) - len(outside)
    _count(result, _enter(session, settings, play, definition, outside, day, found, mrr))
    return result


def run_plays(session: Session, settings: Settings, day: date) -> list[PlayDay]:
    """Run every active play for day (the pipeline's `plays` stage)."""
    plays = session.scalars(sa.select(Play).where(Play.status == "active").order_by(Play.key))
    return [run_play(session, settings, play, day) for play in plays]


def play_dict(play: Play) -> dict[str, Any]:
    """Return a play as JSON."""
    return {
        "key": play.key,
        "name": play.name,
        "status": play.status,
        "holdout_fraction": play.holdout_fraction,
        "holdout_reason": play.holdout_reason,
        "definition": play.definition,
    }
