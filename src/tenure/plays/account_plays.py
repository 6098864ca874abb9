"""Each account's plays: its runs and tasks, and the next play its reasons call for (read side)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Subscription
from tenure.accounts.mrr import in_force
from tenure.accounts.schemas import Money
from tenure.accounts.service import mrr_in_force
from tenure.alerts.budget import latest_scores
from tenure.alerts.evaluation import day_end, next_anniversary
from tenure.alerts.models import ACTIVE_STATUSES, Alert
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.health.models import HealthScore
from tenure.plays import effect, next_play, tasks
from tenure.plays.models import CsmTask, Play, PlayRun
from tenure.plays.next_play import AccountSignals, Candidate, PlayMap, PlayValue

CHUNK = 500


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def play_map(settings: Settings) -> PlayMap:
    """Return the configured explanation → play mapping (the packaged one by default)."""
    return next_play.read_play_map(settings.play_map_file)


def play_values(session: Session, money: Money) -> dict[str, PlayValue]:
    """Return every active play's measured effect, implied lifetime and cost per account."""
    effects = {e.play: e for e in effect.play_effects(session, money)}
    values = {}
    for play in session.scalars(sa.select(Play).where(Play.status == "active")):
        measured = effects.get(play.key)
        values[play.key] = PlayValue(
            play.key,
            play.name,
            measured.effect if measured and measured.measured else None,
            measured.lifetime_months if measured and measured.measured else None,
            money.major(next_play.play_cost(play.definition)),
        )
    return values


def _open_alerts(session: Session, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Return each account's open alert kinds, named by kind only.

    The alert's message is not repeated: it may name people a reader of the 360 may not see.
    """
    found: dict[int, list[tuple[str, str]]] = {}
    for chunk in _chunks(ids):
        query = sa.select(Alert.account_id, Alert.kind).where(
            Alert.account_id.in_(chunk), Alert.status.in_(ACTIVE_STATUSES)
        )
        for account_id, kind in session.execute(query.distinct().order_by(Alert.account_id)):
            found.setdefault(account_id, []).append((kind, f"open alert: {kind.replace('_', ' ')}"))
    return found


def _renewals(session: Session, day: date, ids: list[int], days: int) -> dict[int, date]:
    """Return the given accounts' next annual renewal when it is at most `days` days away."""
    due: dict[int, date] = {}
    for chunk in _chunks(ids):
        query = sa.select(Subscription.account_id, Subscription.started_at).where(
            Subscription.account_id.in_(chunk),
            Subscription.billing_interval == "year",
            in_force(Subscription.started_at, Subscription.ended_at, day_end(day)),
        )
        for account_id, started in session.execute(query):
            renews = next_anniversary(started.date(), day)
            if (renews - day).days <= days:
                due[account_id] = min(renews, due.get(account_id, renews))
    return due


def account_signals(
    session: Session, money: Money, day: date, account_ids: Iterable[int], renewal_days: int
) -> dict[int, AccountSignals]:
    """Return what each account's next play depends on, read in a few bulk queries."""
    ids = sorted(set(account_ids))
    mrr = mrr_in_force(db_session=session, day=day, money=money, account_ids=ids)
    churn = latest_scores(session, ChurnScore, day, ids)
    health = latest_scores(session, HealthScore, day, ids)
    alerts = _open_alerts(session, ids)
    renewals = _renewals(session, day, ids, renewal_days) if renewal_days else {}
    signals = {}
    for account_id in ids:
        score, scored = churn.get(account_id), health.get(account_id)
        renews = renewals.get(account_id)
        signals[account_id] = AccountSignals(
            account_id=account_id,
            mrr=money.major(mrr.get(account_id, 0)),
            churn_probability=score.probability if score else None,
            churn_reasons=list(score.reasons or []) if score else [],
            health_tier=scored.tier if scored else None,
            health_measures=dict(scored.measures or {}) if scored else {},
            alerts=alerts.get(account_id, []),
            days_to_renewal=(renews - day).days if renews else None,
        )
    return signals


def recommendations(
    session: Session, settings: Settings, day: date, account_ids: Iterable[int]
) -> dict[int, list[Candidate]]:
    """Return, per account, the plays its reasons call for, best first."""
    money = Money.from_settings(settings)
    mapping = play_map(settings)
    renewal_days = max((e.renewal_within_days or 0 for e in mapping.entries), default=0)
    values = play_values(session, money)
    signals = account_signals(session, money, day, account_ids, renewal_days)
    return {a: next_play.rank(s, mapping, values) for a, s in signals.items()}


def _run_dict(run: PlayRun, play: Play) -> dict[str, Any]:
    return {
        "id": run.id,
        "play": play.key,
        "play_name": play.name,
        "arm": run.arm,
        "status": run.status,
        "started_on": run.started_on.isoformat(),
        "goal_on": run.goal_on.isoformat(),
        "trigger": run.trigger,
        "retained": run.retained,
        "actions": [a.get("kind") for a in run.actions or []],
    }


def account_plays(
    session: Session, settings: Settings, account_id: int, day: date
) -> dict[str, Any]:
    """Return an account's play runs (by arm), its tasks with outcomes and the recommended play."""
    runs = session.execute(
        sa.select(PlayRun, Play)
        .join(Play, Play.id == PlayRun.play_id)
        .where(PlayRun.account_id == account_id)
        .order_by(PlayRun.started_on.desc(), PlayRun.id.desc())
    ).all()
    found = session.scalars(
        sa.select(CsmTask)
        .where(CsmTask.account_id == account_id)
        .order_by(CsmTask.due_on.desc(), CsmTask.id.desc())
    )
    candidates = recommendations(session, settings, day, [account_id])[account_id]
    best = next_play.recommended(candidates)
    return {
        "account_id": account_id,
        "runs": [_run_dict(run, play) for run, play in runs],
        "tasks": [tasks.task_dict(task) for task in found],
        "recommended": best.as_dict() if best else None,
        "candidates": [c.as_dict() for c in candidates],
    }


def visible_tasks(
    panel_tasks: list[dict[str, Any]], *, may_read: bool, role: str, reader: str
) -> list[dict[str, Any]] | None:
    """Return the tasks a reader may see: none without tasks:read, a csm only their own."""
    if not may_read:
        return None
    if role == "csm":
        return [t for t in panel_tasks if t["owner"].lower() == reader.lower()]
    return panel_tasks
