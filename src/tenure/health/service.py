"""App-DB reads and writes of health: score history, references, the real-time baseline."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.db.bulk import bulk_insert, upsert
from tenure.errors import NotFound
from tenure.health.models import HealthReference, HealthScore, UsageBase

CHUNK = 900  # ids per IN list (below SQLite's bound-parameter limit)


def _chunks(ids: Collection[int] | None) -> list[list[int] | None]:
    if ids is None:
        return [None]
    values = sorted(ids)
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)] or [[]]


def rows_on(
    db_session: Session, day: date, ids: Collection[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Return stored health rows of a day by account id (score and tier)."""
    columns = [HealthScore.account_id, HealthScore.score, HealthScore.tier]
    out: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        query = select(*columns).where(HealthScore.as_of == day)
        if chunk is not None:
            query = query.where(HealthScore.account_id.in_(chunk))
        for account_id, score, tier in db_session.execute(query):
            out[account_id] = {"score": score, "tier": tier}
    return out


def points_on(
    db_session: Session, day: date, names: Collection[str], ids: Collection[int] | None = None
) -> pd.DataFrame:
    """Return stored rows of a day: score and each named measure's points, by account id.

    The points are read with the database's JSON path operators (no decoding in Python).
    """
    names = sorted(names)
    columns = [HealthScore.account_id, HealthScore.score]
    columns += [HealthScore.measures[(n, "points")].as_float().label(n) for n in names]
    frames = []
    for chunk in _chunks(ids):
        query = select(*columns).where(HealthScore.as_of == day)
        if chunk is not None:
            query = query.where(HealthScore.account_id.in_(chunk))
        frames.append(
            pd.DataFrame(db_session.execute(query).all(), columns=["account_id", "score", *names])
        )
    return pd.concat(frames, ignore_index=True).set_index("account_id")


def latest_rows_before(
    db_session: Session, day: date, ids: Collection[int]
) -> dict[int, dict[str, Any]]:
    """Return each account's latest stored row dated before day (score, tier, as_of)."""
    out: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        latest = (
            select(HealthScore.account_id, func.max(HealthScore.as_of).label("as_of"))
            .where(HealthScore.as_of < day, HealthScore.account_id.in_(chunk))
            .group_by(HealthScore.account_id)
            .subquery()
        )
        query = select(HealthScore.account_id, HealthScore.score, HealthScore.tier).join(
            latest,
            (latest.c.account_id == HealthScore.account_id) & (latest.c.as_of == HealthScore.as_of),
        )
        for row in db_session.execute(query):
            out[row.account_id] = dict(row._mapping)
    return out


def replace_day(db_session: Session, day: date, rows: list[dict[str, Any]]) -> None:
    """Replace every stored health row of a day with rows (measures as JSON text; idempotent)."""
    db_session.execute(delete(HealthScore).where(HealthScore.as_of == day))
    bulk_insert(db_session.connection(), HealthScore.__table__, rows, raw={"measures"})


def upsert_rows(db_session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or update health rows on (account_id, as_of)."""
    if not rows:
        return
    columns = ("scorecard", "score", "tier", "measures", "reason", "change_7d", "change_30d")
    statement = upsert(
        db_session, HealthScore, keys=["account_id", "as_of"], update=(*columns, "updated_at")
    )
    db_session.execute(statement, rows)


def store_references(db_session: Session, day: date, references: dict[str, list[float]]) -> None:
    """Replace the population quantiles of a day."""
    db_session.execute(delete(HealthReference).where(HealthReference.as_of == day))
    rows = [{"as_of": day, "measure": k, "quantiles": v} for k, v in references.items()]
    if rows:
        db_session.execute(insert(HealthReference), rows)


def latest_references(db_session: Session, day: date) -> dict[str, list[float]] | None:
    """Return the quantiles of the latest day on or before day, or None if none are stored."""
    latest = db_session.scalar(
        select(func.max(HealthReference.as_of)).where(HealthReference.as_of <= day)
    )
    if latest is None:
        return None
    rows = db_session.execute(
        select(HealthReference.measure, HealthReference.quantiles).where(
            HealthReference.as_of == latest
        )
    )
    return {measure: list(quantiles) for measure, quantiles in rows}


def store_usage_base(db_session: Session, day: date, usage: pd.DataFrame) -> bool:
    """Replace the real-time baseline with usage up to day, unless a later one is stored."""
    newest = db_session.scalar(select(func.max(UsageBase.base_day)))
    if newest is not None and newest > day:
        return False
    db_session.execute(delete(UsageBase))
    base = usage[usage["base_recent"].notna()]
    logins = base["last_login_at"].astype(object)
    frame = pd.DataFrame(
        {
            "account_id": base["account_id"].astype(int),
            "base_day": day,
            "events_recent": base["base_recent"].astype(int),
            "events_previous": base["base_previous"].astype(int),
            "last_login_at": logins.where(logins.notna(), None),
            "features": base["base_features"],
            "users": base["base_users"],
        }
    )
    rows = frame.to_dict("records")
    bulk_insert(db_session.connection(), UsageBase.__table__, rows)
    return True


def newest_day(db_session: Session) -> date | None:
    """Return the latest day with stored health scores."""
    return db_session.scalar(select(func.max(HealthScore.as_of)))


def tier_overview(db_session: Session, day: date) -> dict[str, Any]:
    """Return the tier distribution and mean score per scorecard on a day."""
    query = (
        select(HealthScore.scorecard, HealthScore.tier, func.count(), func.avg(HealthScore.score))
        .where(HealthScore.as_of == day)
        .group_by(HealthScore.scorecard, HealthScore.tier)
    )
    tiers: dict[str, int] = {}
    cards: dict[str, dict[str, Any]] = {}
    for card, tier, count, mean in db_session.execute(query):
        tiers[tier] = tiers.get(tier, 0) + count
        entry = cards.setdefault(card, {"accounts": 0, "tiers": {}, "_sum": 0.0})
        entry["accounts"] += count
        entry["tiers"][tier] = count
        entry["_sum"] += float(mean) * count
    for entry in cards.values():
        entry["mean_score"] = round(entry.pop("_sum") / entry["accounts"], 2)
    total = sum(tiers.values())
    return {"as_of": day.isoformat(), "accounts": total, "tiers": tiers, "scorecards": cards}


def account_history(
    db_session: Session, external_id: str, day: date, days: int = 90
) -> dict[str, Any]:
    """Return one account's latest health on or before day, with measures and history."""
    account = db_session.scalar(select(Account).where(Account.external_id == external_id))
    if account is None:
        raise NotFound(f"no account with id {external_id!r}")
    rows = db_session.scalars(
        select(HealthScore)
        .where(
            HealthScore.account_id == account.id,
            HealthScore.as_of <= day,
            HealthScore.as_of > day - timedelta(days=days),
        )
        .order_by(HealthScore.as_of)
    ).all()
    if not rows:
        raise NotFound(f"account {external_id!r} has no health score on or before {day}")
    latest = rows[-1]
    return {
        "account_id": account.id,
        "external_id": account.external_id,
        "name": account.name,
        "owner": account.owner,
        "as_of": latest.as_of.isoformat(),
        "scorecard": latest.scorecard,
        "score": latest.score,
        "tier": latest.tier,
        "change_7d": latest.change_7d,
        "change_30d": latest.change_30d,
        "reason": latest.reason,
        "measures": latest.measures,
        "missing": sorted(n for n, m in latest.measures.items() if m.get("missing")),
        "updated_at": latest.updated_at.isoformat(),
        "history": [{"as_of": r.as_of.isoformat(), "score": r.score, "tier": r.tier} for r in rows],
    }


def stamp() -> Any:
    """Return the time to record as updated_at."""
    return clock.now()
