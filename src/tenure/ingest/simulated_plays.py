"""Bring a simulated closed loop's plays in as play history: its runs, treated and held out.

`tenure simulate --policy` writes play_truth.parquet: on each decision day, the at-risk
accounts, the play chosen for each and whether it was held out. The book responded to the
treated runs (each play's hidden effect), so these runs measure the plays honestly. Each
simulated play kind maps to the packaged play that does the same (a CSM call → red-health-call,
…); a run enters as `active` with its goal day, and the `plays` stage judges it on the next
pipeline run from the MRR in force then, as it judges every run. Re-importing adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.accounts.schemas import Money
from tenure.accounts.service import mrr_in_force
from tenure.config import Settings
from tenure.db.bulk import dialect_insert
from tenure.db.session import session_scope
from tenure.plays.definitions import (
    DEFAULTS_FILE,
    JourneyAction,
    OfferAction,
    PlayDefinition,
    TaskAction,
    read_plays,
)
from tenure.plays.models import Play, PlayRun
from tenure.plays.service import save_play

# The simulator's play kinds (tenure.simulate.play_effects) and the packaged plays they stand for.
SIMULATED_PLAYS = {
    "csm_call": "red-health-call",
    "adoption_journey": "adoption-nudge",
    "support_escalation": "support-escalation",
    "dunning": "dunning",
    "discount_offer": "high-risk-renewal",
}
REASON_TEXT = {"failed_payment": "failed payment", "urgent_ticket": "urgent ticket",
               "usage_drop": "usage drop"}  # fmt: skip
CHUNK = 2_000


def run_cost(definition: PlayDefinition) -> int:
    """Return what one treated run of the play costs (one contact in a journey)."""
    cost = 0
    for action in definition.actions:
        if isinstance(action, TaskAction):
            cost += round(action.minutes / 60 * definition.cost.csm_hourly_rate)
        elif isinstance(action, OfferAction) and action.value <= action.approval_limit:
            cost += action.value
        elif isinstance(action, JourneyAction):
            cost += action.emails * definition.cost.email
    return cost


def decision_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the rows that became runs: a chosen play of a known kind, treated or held out."""
    chosen = frame[frame["play"].notna() & (frame["treated"] | frame["held_out"])].copy()
    chosen = chosen[chosen["play"].isin(list(SIMULATED_PLAYS))]
    chosen["arm"] = chosen["held_out"].map({True: "holdout", False: "treated"})
    chosen["play_key"] = chosen["play"].map(SIMULATED_PLAYS)
    reasons = [c for c in chosen.columns if c.startswith("reason_")]
    chosen["why"] = [
        "simulated: " + (", ".join(REASON_TEXT.get(c[7:], c[7:]) for c in reasons if row[c])
                         or "churn risk")
        for _, row in chosen[reasons].iterrows()
    ] if reasons else "simulated: churn risk"  # fmt: skip
    return chosen


def _plays(session: Session, keys: set[str]) -> dict[str, tuple[Play, PlayDefinition]]:
    """Return the plays by key, loading a packaged one that is not there yet."""
    packaged = {d.key: d for d in read_plays(DEFAULTS_FILE)}
    found = {}
    for key in sorted(keys):
        play = session.scalar(sa.select(Play).where(Play.key == key))
        if play is None:
            play = save_play(session, packaged[key], actor="import")
        found[key] = (play, PlayDefinition.model_validate(play.definition))
    return found


def _account_ids(session: Session, external_ids: list[str]) -> dict[str, int]:
    """Return external id -> account id of the accounts imported (chunked IN lists)."""
    found: dict[str, int] = {}
    unique = sorted(set(external_ids))
    for start in range(0, len(unique), CHUNK):
        query = sa.select(Account.external_id, Account.id).where(
            Account.external_id.in_(unique[start : start + CHUNK])
        )
        found.update({external: i for external, i in session.execute(query)})
    return found


def _mrr_on(session: Session, money: Money, day: date, account_ids: list[int]) -> dict[int, int]:
    """Return account id -> MRR in force on day (chunked IN lists)."""
    found: dict[int, int] = {}
    for start in range(0, len(account_ids), CHUNK):
        chunk = account_ids[start : start + CHUNK]
        found.update(mrr_in_force(db_session=session, day=day, money=money, account_ids=chunk))
    return found


def history_rows(session: Session, runs: pd.DataFrame, money: Money) -> list[dict]:
    """Return the play_run rows of the decision runs (accounts with MRR in force that day)."""
    plays = _plays(session, set(runs["play_key"]))
    ids = _account_ids(session, runs["account_id"].astype(str).tolist())
    rows = []
    for day, group in runs.groupby("date"):
        started = pd.Timestamp(day).date()
        accounts = [ids[a] for a in group["account_id"].astype(str) if a in ids]
        mrr = _mrr_on(session, money, started, sorted(set(accounts)))
        for _, run in group.iterrows():
            account = ids.get(str(run["account_id"]))
            if account is None or mrr.get(account, 0) <= 0:
                continue
            play, definition = plays[run["play_key"]]
            treated = run["arm"] == "treated"
            rows.append({
                "play_id": play.id, "account_id": account, "arm": run["arm"],
                "started_on": started,
                "goal_on": started + timedelta(days=definition.goal.horizon_days),
                "trigger": run["why"][:255], "mrr_at_start": mrr[account],
                "cost": run_cost(definition) if treated else 0,
                "actions": [{"kind": a.kind, "status": "simulated"} for a in definition.actions]
                if treated else [],
                "status": "active",
            })  # fmt: skip
    return rows


def import_play_history(folder: Path, *, settings: Settings, engine: Engine) -> int | None:
    """Insert the simulated loop's runs as play history; return how many were new (None: no loop)."""
    path = folder / "play_truth.parquet"
    if not path.exists():
        return None
    runs = decision_runs(pd.read_parquet(path))
    if runs.empty:
        return 0
    with session_scope(engine) as session:
        rows = history_rows(session, runs, Money.from_settings(settings))
        statement = (
            dialect_insert(session, PlayRun)
            .on_conflict_do_nothing(index_elements=["play_id", "account_id", "started_on"])
            .returning(PlayRun.id)
        )
        new = 0
        for start in range(0, len(rows), CHUNK):
            new += len(session.execute(statement, rows[start : start + CHUNK]).all())
    return new
