"""Each CSM's daily alert budget: the accounts with the most MRR at risk are told of at once.

Alerts are always opened (the rows are kept); those over an owner's budget for the day are not
delivered at once but wait for the daily digest (`facts.digest`). An account counts once a day
per owner, however many rules fire for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.accounts.schemas import Money
from tenure.accounts.service import mrr_in_force
from tenure.alerts.evaluation import day_end
from tenure.alerts.models import Alert
from tenure.alerts.routing import Routing, recipient
from tenure.alerts.schemas import Trigger
from tenure.churn.models import ChurnScore

SCORE_MAX_AGE_DAYS = 30


def mrr_at_risk(mrr: float, probability: float | None) -> float:
    """Return the expected MRR at risk: MRR × churn probability (0 when not scored)."""
    return mrr * (probability or 0.0)


def latest_scores(session: Session, model: type, day: date, ids: list[int]) -> dict[int, Any]:
    """Return each account's newest score row of model (churn or health) on or before day.

    Rows older than SCORE_MAX_AGE_DAYS say nothing about the day and are left out.
    """
    found: dict[int, Any] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        newest = (
            sa.select(model.account_id, sa.func.max(model.as_of).label("as_of"))
            .where(
                model.account_id.in_(chunk),
                model.as_of <= day,
                model.as_of >= day - timedelta(days=SCORE_MAX_AGE_DAYS),
            )
            .group_by(model.account_id)
            .subquery()
        )
        query = sa.select(model).join(
            newest, (model.account_id == newest.c.account_id) & (model.as_of == newest.c.as_of)
        )
        found.update((row.account_id, row) for row in session.scalars(query))
    return found


def latest_probabilities(session: Session, day: date, ids: list[int]) -> dict[int, float]:
    """Return each account's newest churn probability on or before day (at most 30 days old)."""
    rows = latest_scores(session, ChurnScore, day, ids)
    return {account_id: row.probability for account_id, row in rows.items()}


def split_budget(
    ranked: Iterable[tuple[str, int]], told: dict[str, set[int]], budget: int
) -> set[tuple[str, int]]:
    """Return the (owner, account) pairs over budget; ranked is most MRR at risk first.

    told holds the accounts each owner was already told of today: they use no new slot.
    """
    seen: dict[str, set[int]] = defaultdict(set)
    for owner, accounts in told.items():
        seen[owner] |= accounts
    held = set()
    for owner, account_id in ranked:
        if account_id in seen[owner]:
            continue
        if len(seen[owner]) >= budget:
            held.add((owner, account_id))
            continue
        seen[owner].add(account_id)
    return held


def told_today(session: Session, day: date) -> dict[str, set[int]]:
    """Return owner -> accounts with an alert opened on day and delivered at once."""
    end = day_end(day)
    query = sa.select(Alert.owner, Alert.account_id, Alert.facts).where(
        Alert.opened_at >= end - timedelta(days=1), Alert.opened_at < end
    )
    told: dict[str, set[int]] = defaultdict(set)
    for owner, account_id, facts in session.execute(query):
        if not (facts or {}).get("digest"):
            told[owner].add(account_id)
    return told


def held_for_digest(
    session: Session,
    money: Money,
    day: date,
    routed: list[tuple[str, Trigger]],
    routing: Routing,
    budget: int,
) -> set[tuple[str, int]]:
    """Return the (owner, account) pairs whose new alerts wait for the digest today.

    routed holds (rule route, trigger) pairs of the day's triggers across every rule.
    """
    ids = sorted({t.account_id for _, t in routed})
    if not ids:
        return set()
    query = sa.select(Account.id, Account.owner).where(Account.id.in_(ids))
    owners = {account_id: owner for account_id, owner in session.execute(query)}
    mrr = mrr_in_force(db_session=session, day=day, money=money, account_ids=ids)
    probability = latest_probabilities(session, day, ids)
    pairs = {
        (recipient(route, t.owner or owners.get(t.account_id), routing), t.account_id)
        for route, t in routed
    }
    ranked = sorted(
        pairs, key=lambda p: (-mrr_at_risk(mrr.get(p[1], 0), probability.get(p[1])), p[1])
    )
    return split_budget(ranked, told_today(session, day), budget)
