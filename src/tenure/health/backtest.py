"""How well health predicts churn: scores as of past days against churn in the following days.

An account churned after day D when it had a live subscription at the end of D and none at the
end of D + horizon. Scores are recomputed as of each past day from data dated up to that day
(time-travel correct), with the scorecards in force now. AUC is the probability that a churned
account had the lower score (ties count half): the Mann–Whitney U statistic over n₁·n₀.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Subscription
from tenure.accounts.schemas import Money
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.errors import InputError, NotFound
from tenure.health.compute import assign_scorecards, build_references, measure_values
from tenure.health.inputs import (
    active_accounts,
    app_inputs,
    population_flags,
    population_has,
    segment_members,
    warehouse_usage,
)
from tenure.health.scorecards import ScorecardDefinition, list_scorecards
from tenure.health.scoring import score_accounts
from tenure.history.store import archived_score_days, history_root, read_history
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse


def auc(risk: np.ndarray, churned: np.ndarray) -> float | None:
    """Return the AUC of a risk score for a churn label (None when one class is absent)."""
    churned = churned.astype(bool)
    n1, n0 = int(churned.sum()), int((~churned).sum())
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(risk)
    return float((ranks[churned].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass
class PastDay:
    """What the backtest knows about one past day: inputs, values, and who churned after."""

    day: date
    accounts: pd.DataFrame
    values: pd.DataFrame
    references: dict[str, list[float]]
    members: dict[str, set[int]]
    churned: np.ndarray


def data_end(settings: Settings, db_session: Session) -> date:
    """Return the last day with data (subscriptions or events), at most today."""
    days = [
        db_session.scalar(select(func.max(Subscription.started_at))),
        db_session.scalar(select(func.max(Subscription.ended_at))),
    ]
    with open_warehouse(settings, read_only=True) as warehouse:
        days.append(warehouse.con.execute(f"SELECT max(ts) FROM {EVENTS}").fetchone()[0])
    known = [d.date() for d in days if d is not None]
    if not known:
        raise InputError("there is no subscription or event data to backtest on")
    return min(max(known), clock.now().date())


def backtest_dates(end: date, horizon: int, every: int, count: int) -> list[date]:
    """Return up to count days, every `every` days, the latest `horizon` days before end."""
    last = end - timedelta(days=horizon)
    return sorted(last - timedelta(days=every * k) for k in range(count))


def gather(
    settings: Settings,
    engine: Engine,
    days: list[date],
    horizon: int,
    cards: list[ScorecardDefinition],
) -> list[PastDay]:
    """Collect every past day's measure values and churn outcome."""
    logins = list(settings.health_login_events)
    money = Money.from_settings(settings)
    out = []
    segments = {c.applies_to.segment for c in cards if c.applies_to.segment}
    with open_warehouse(settings, read_only=True) as warehouse, session_scope(engine) as db_session:
        for day in days:
            accounts = active_accounts(db_session, day, money=money)
            if accounts.empty:
                continue
            usage = warehouse_usage(warehouse.con, day, logins)
            flags = population_has(db_session, day) | population_flags(warehouse.con, day, logins)
            app = app_inputs(db_session, day, money=money)
            values = measure_values(accounts, usage, app, day, flags)
            later = active_accounts(db_session, day + timedelta(days=horizon), money=money)
            later = set(later["account_id"])
            churned = ~accounts["account_id"].isin(later).to_numpy()
            members = segment_members(db_session, day, segments)
            out.append(PastDay(day, accounts, values, build_references(values), members, churned))
    return out


def _scores(cards: list[ScorecardDefinition], past: PastDay) -> pd.DataFrame:
    """Return account_id, scorecard, score, tier, churned for one past day."""
    chosen = assign_scorecards(cards, past.accounts, past.members)
    parts = []
    for card in cards:
        rows = np.flatnonzero(chosen == card.name)
        if rows.size:
            part = past.values.iloc[rows].reset_index(drop=True)
            scored = score_accounts(card, part["account_id"].to_numpy(), part, past.references)
            parts.append(
                pd.DataFrame(
                    {
                        "account_id": scored.account_ids,
                        "scorecard": card.name,
                        "score": scored.total,
                        "tier": scored.tiers,
                        "churned": past.churned[rows],
                    }
                )
            )
    frame = pd.concat(parts, ignore_index=True)
    frame["as_of"] = past.day
    return frame


def _tier_table(frame: pd.DataFrame, cards: list[ScorecardDefinition]) -> dict[str, Any]:
    order = list(dict.fromkeys(t.name for c in cards for t in c.tiers))
    table = {}
    for tier in order:
        part = frame[frame["tier"] == tier]
        if len(part):
            table[tier] = {
                "accounts": len(part),
                "churned": int(part["churned"].sum()),
                "churn_rate": round(float(part["churned"].mean()), 4),
            }
    return table


def evaluate(cards: list[ScorecardDefinition], past: list[PastDay]) -> dict[str, Any]:
    """Return AUC, churn rate per tier and per scorecard over the past days."""
    frame = pd.concat([_scores(cards, p) for p in past], ignore_index=True)
    churned = frame["churned"].to_numpy()
    by_card = {}
    for name, part in frame.groupby("scorecard"):
        value = auc(100.0 - part["score"].to_numpy(), part["churned"].to_numpy())
        by_card[name] = {
            "accounts": len(part),
            "churn_rate": round(float(part["churned"].mean()), 4),
            "auc": None if value is None else round(value, 4),
        }
    value = auc(100.0 - frame["score"].to_numpy(), churned)
    return {
        "observations": len(frame),
        "churned": int(churned.sum()),
        "churn_rate": round(float(churned.mean()), 4),
        "auc": None if value is None else round(value, 4),
        "tiers": _tier_table(frame, cards),
        "scorecards": by_card,
        "frame": frame,
    }


def past_churn_scores(db_session: Session, days: list[date], archive: Path) -> pd.DataFrame:
    """Return the churn scores of days: the app DB's window and the warehouse archive, once each."""
    rows = db_session.execute(
        select(ChurnScore.account_id, ChurnScore.as_of, ChurnScore.probability).where(
            ChurnScore.as_of.in_(days)
        )
    ).all()
    recent = pd.DataFrame(rows, columns=["account_id", "as_of", "probability"])
    archived = read_history(archive, "churn_score", {"probability": "DOUBLE"}, days).to_pandas()
    parts = [f for f in (recent, archived[recent.columns]) if not f.empty]
    if not parts:
        return recent
    both = pd.concat(parts, ignore_index=True)
    return both.drop_duplicates(["account_id", "as_of"])


def model_auc(db_session: Session, past: list[PastDay], archive: Path) -> dict[str, Any] | None:
    """Return the churn model's AUC on the same accounts and days, when churn scores exist."""
    labels = pd.concat(
        [
            pd.DataFrame(
                {"account_id": p.accounts["account_id"], "as_of": p.day, "churned": p.churned}
            )
            for p in past
        ]
    )
    scores = past_churn_scores(db_session, [p.day for p in past], archive)
    if scores.empty:
        return None
    joined = labels.merge(scores, on=["account_id", "as_of"])
    value = auc(joined["probability"].to_numpy(), joined["churned"].to_numpy())
    return {
        "observations": len(joined),
        "auc": None if value is None else round(value, 4),
        "keys": joined[["account_id", "as_of"]],
    }


def model_days(
    db_session: Session, end: date, horizon: int, count: int, archive: Path
) -> list[date]:
    """Return the latest days with churn scores whose horizon has passed by end."""
    last = end - timedelta(days=horizon)
    recent = db_session.scalars(
        select(ChurnScore.as_of).where(ChurnScore.as_of <= last).group_by(ChurnScore.as_of)
    ).all()
    return sorted({*recent, *archived_score_days(archive, last)})[-count:] if count else []


def run_backtest(
    settings: Settings, engine: Engine, *, horizon: int = 90, every: int = 30, count: int = 6
) -> dict[str, Any]:
    """Backtest the scorecards in force (and the churn model beside them) on past days."""
    archive = history_root(settings)  # churn scores older than the app DB's window live there
    with session_scope(engine) as db_session:
        cards = list_scorecards(db_session)
        end = data_end(settings, db_session)
        days = model_days(db_session, end, horizon, count, archive) or backtest_dates(
            end, horizon, every, count
        )
    past = gather(settings, engine, days, horizon, cards)
    if not past:
        raise InputError(f"no account was live on the backtest days {days[0]}…{days[-1]}")
    result = evaluate(cards, past)
    frame = result.pop("frame")
    with session_scope(engine) as db_session:
        model = model_auc(db_session, past, archive)
    if model is not None:
        keys = model.pop("keys")
        same = frame.merge(keys, on=["account_id", "as_of"])
        value = auc(100.0 - same["score"].to_numpy(), same["churned"].to_numpy())
        model["health_auc_same_accounts"] = None if value is None else round(value, 4)
    return {
        "horizon_days": horizon,
        "dates": [p.day.isoformat() for p in past],
        "data_end": end.isoformat(),
        **result,
        "churn_model": model,
    }


def _measure_matrix(
    card: ScorecardDefinition, past: list[PastDay]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Return each observation's measure scores under card, the labels and the day index."""
    frames, labels, day_index = [], [], []
    for i, p in enumerate(past):
        rows = np.flatnonzero(assign_scorecards([card], p.accounts, p.members) == card.name)
        values = p.values.iloc[rows].reset_index(drop=True)
        scored = score_accounts(card, values["account_id"].to_numpy(), values, p.references)
        frames.append(scored.scores)
        labels.append(p.churned[rows])
        day_index.append(np.full(rows.size, i))
    return pd.concat(frames, ignore_index=True), np.concatenate(labels), np.concatenate(day_index)


def propose_weights(
    card: ScorecardDefinition, scores: pd.DataFrame, churned: np.ndarray, c: float
) -> dict[str, float]:
    """Fit an L2-regularised logistic regression on measure scores; return weights summing to 100.

    Measures without any value in the training data are not fitted and keep their share.
    """
    total = sum(m.weight for m in card.measures)
    fitted = [m.name for m in card.measures if scores[m.name].notna().any()]
    kept = {m.name: 100.0 * m.weight / total for m in card.measures if m.name not in fitted}
    x = (scores[fitted] / 100.0).fillna(scores[fitted].mean() / 100.0).to_numpy()
    model = LogisticRegression(C=c, max_iter=1000).fit(x, churned.astype(int))
    protective = np.clip(-model.coef_[0], 0.0, None)
    if protective.sum() == 0:
        raise InputError("no measure lowers churn risk on this data; weights cannot be proposed")
    share = (100.0 - sum(kept.values())) * protective / protective.sum()
    weights = {**kept, **dict(zip(fitted, share.tolist(), strict=True))}
    return {m.name: round(float(weights[m.name]), 1) for m in card.measures}


def reweighted(card: ScorecardDefinition, weights: dict[str, float]) -> ScorecardDefinition:
    """Return card with new weights (measures weighted 0 are dropped)."""
    measures = [
        m.model_copy(update={"weight": weights[m.name]})
        for m in card.measures
        if weights[m.name] > 0
    ]
    return card.model_copy(update={"measures": measures})


def _chosen_card(cards: list[ScorecardDefinition], name: str | None) -> ScorecardDefinition:
    """Return the named scorecard, or the last catch-all when no name is given."""
    if name is None:
        return next(c for c in reversed(cards) if c.applies_to.is_catch_all)
    for card in cards:
        if card.name == name:
            return card
    raise NotFound(f"no scorecard named {name!r}")


def fit_weights(
    settings: Settings,
    engine: Engine,
    *,
    scorecard: str | None = None,
    horizon: int = 90,
    every: int = 30,
    count: int = 6,
    c: float = 1.0,
) -> dict[str, Any]:
    """Propose data-fitted weights for a scorecard and backtest them out of time."""
    with session_scope(engine) as db_session:
        cards = list_scorecards(db_session)
        end = data_end(settings, db_session)
    card = _chosen_card(cards, scorecard)
    past = gather(settings, engine, backtest_dates(end, horizon, every, count), horizon, [card])
    if len(past) < 2:
        raise InputError("fitting weights needs at least two past days with live accounts")
    scores, churned, day_index = _measure_matrix(card, past)
    train = day_index < len(past) - 1
    if churned[train].all() or not churned[train].any():
        raise InputError("the training days have only one outcome (no churn or only churn)")
    weights = propose_weights(card, scores[train], churned[train], c)
    proposed = reweighted(card, weights)
    test = past[-1:]
    return {
        "scorecard": card.name,
        "horizon_days": horizon,
        "train_dates": [p.day.isoformat() for p in past[:-1]],
        "test_date": past[-1].day.isoformat(),
        "current_weights": {m.name: m.weight for m in card.measures},
        "proposed_weights": weights,
        "current": _auc_only(evaluate([card], test)),
        "proposed": _auc_only(evaluate([proposed], test)),
        "proposed_scorecard": proposed.to_json(),
    }


def _auc_only(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("observations", "churned", "auc", "tiers")}
