"""Score accounts for a day: inputs → scores → rows with trends and reasons → notifications."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from tenure.accounts.schemas import Money
from tenure.churn.definition import SUBSCRIPTION_ONLY, ChurnDefinition
from tenure.health import service
from tenure.health.compute import build_references, measure_values, score_population
from tenure.health.inputs import app_inputs, population_has, segment_members
from tenure.health.population import scored_accounts
from tenure.health.scorecards import ScorecardDefinition, list_scorecards
from tenure.health.scoring import ScoredAccounts, points_before, reasons
from tenure.notifications import Notification


@dataclass
class DayScores:
    """What scoring a day produced: rows to store, notifications to publish, references."""

    day: date
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[Notification] = field(default_factory=list)
    references: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class PriorRows:
    """Stored rows the new scores are compared with."""

    current: dict[int, dict[str, Any]]  # already stored for the day
    baseline: dict[int, dict[str, Any]]  # the latest day before
    week: pd.DataFrame  # 7 days earlier: score and each measure's points, by account id
    month: dict[int, dict[str, Any]]  # 30 days earlier


def score_day(
    db_session: Session,
    day: date,
    usage: pd.DataFrame,
    available: Mapping[str, bool],
    *,
    drop_points: float,
    account_ids: Collection[int] | None = None,
    references: dict[str, list[float]] | None = None,
    source: str = "daily",
    as_text: bool = False,
    money: Money | None = None,
    definition: ChurnDefinition = SUBSCRIPTION_ONLY,
    active_ids: Collection[int] = (),
) -> DayScores:
    """Score the live accounts (all, or account_ids) as of day; store nothing.

    Live follows the churn definition (health.population): paying accounts, and under
    "auto"/"inactivity" the active_ids (accounts with recent events) it judges by use.
    With as_text the rows carry their measures as JSON text (for tenure.db.bulk.bulk_insert).
    """
    accounts = scored_accounts(
        db_session, day, account_ids, money=money, definition=definition, active_ids=active_ids
    )
    if accounts.empty:
        return DayScores(day)
    app = app_inputs(db_session, day, account_ids, money=money)
    if account_ids is None:
        available = {**population_has(db_session, day), **available}
    values = measure_values(accounts, usage, app, day, available)
    if references is None:
        references = build_references(values)
    cards = list_scorecards(db_session)
    segments = {c.applies_to.segment for c in cards if c.applies_to.segment}
    members = segment_members(db_session, day, segments)
    results = score_population(cards, accounts, values, references, members)
    prior = _prior_rows(db_session, day, account_ids, cards)
    scores = DayScores(day, references=references)
    for result in results:
        _add_rows(scores, result, prior, drop_points, source, as_text)
    return scores


def _prior_rows(
    db_session: Session, day: date, ids: Collection[int] | None, cards: list[ScorecardDefinition]
) -> PriorRows:
    current = service.rows_on(db_session, day, ids)
    if ids is None:
        baseline = service.rows_on(db_session, day - timedelta(days=1))
    else:
        baseline = service.latest_rows_before(db_session, day, ids)
    names = {m.name for card in cards for m in card.measures}
    week = service.points_on(db_session, day - timedelta(days=7), names, ids)
    month = service.rows_on(db_session, day - timedelta(days=30), ids)
    return PriorRows(current, baseline, week, month)


def _change(score: float, before: dict[str, Any] | None) -> float | None:
    return None if before is None else round(score - before["score"], 2)


def _add_rows(
    scores: DayScores,
    result: ScoredAccounts,
    prior: PriorRows,
    drop_points: float,
    source: str,
    as_text: bool,
) -> None:
    now = service.stamp()
    measures = result.measures_text() if as_text else result.measures_json()
    why = reasons(result, points_before(result, prior.week))
    week_scores = prior.week["score"].to_dict()
    for i, account_id in enumerate(result.account_ids.tolist()):
        score, tier = float(result.total[i]), result.tiers[i]
        week = {"score": week_scores[account_id]} if account_id in week_scores else None
        reason = why[i]
        row = {
            "account_id": account_id,
            "as_of": scores.day,
            "scorecard": result.card.name,
            "score": score,
            "tier": tier,
            "measures": measures[i],
            "reason": (reason or "")[:255] or None,
            "change_7d": _change(score, week),
            "change_30d": _change(score, prior.month.get(account_id)),
            "updated_at": now,
        }
        scores.rows.append(row)
        scores.notes.extend(_notifications(row, prior, drop_points, source))


def _notifications(
    row: dict[str, Any], prior: PriorRows, drop_points: float, source: str
) -> list[Notification]:
    """Return tier_change and score_drop notifications for one new row."""
    account_id = row["account_id"]
    current, baseline = prior.current.get(account_id), prior.baseline.get(account_id)
    before = current or baseline
    tier_changed = before is not None and before["tier"] != row["tier"]
    dropped = baseline is not None and baseline["score"] - row["score"] >= drop_points
    if not (tier_changed or dropped):
        return []
    payload = {
        "as_of": row["as_of"].isoformat(),
        "score": row["score"],
        "tier": row["tier"],
        "scorecard": row["scorecard"],
        "reason": row["reason"],
        "source": source,
    }
    notes = []
    if tier_changed:
        change = {
            "from_tier": before["tier"],
            "to_tier": row["tier"],
            "previous_score": before["score"],
        }
        notes.append(Notification("tier_change", account_id, {**payload, **change}))
    if dropped:
        already = current is not None and baseline["score"] - current["score"] >= drop_points
        if not already:
            drop = {
                "previous_score": baseline["score"],
                "drop": round(baseline["score"] - row["score"], 2),
            }
            notes.append(Notification("score_drop", account_id, {**payload, **drop}))
    return notes
