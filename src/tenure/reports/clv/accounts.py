"""Subscription CLV of the book's accounts (for the 360 and per segment), read from the app DB."""

from __future__ import annotations

import warnings
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Subscription
from tenure.accounts.schemas import Money
from tenure.accounts.scores import latest_day
from tenure.accounts.service import mrr_in_force_query
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.errors import NotFound
from tenure.metrics.lifetime import MIN_CHURNED, account_lifetimes
from tenure.metrics.serving import store_snapshot, stored_snapshot
from tenure.reports.clv.subscription import DAYS_PER_MONTH, BookSurvival, subscription_clv
from tenure.segments.models import Segment, SegmentMembership
from tenure.warehouse.stages.subscriptions import app_db_subscriptions

SNAPSHOT = "book_survival"


def fit_book_survival(session: Session, end: datetime) -> dict[str, Any]:
    """Return the Weibull fit of paying lifetimes up to END ({rho, lam} or a reason)."""
    from lifelines import WeibullFitter  # 1 s of import: only when a fit is needed

    months, churned = account_lifetimes(app_db_subscriptions(session.get_bind()), end)
    found = {"accounts": len(months), "churned": int(np.sum(churned))}
    if found["churned"] < MIN_CHURNED:
        return found | {"rho": None, "lam": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = WeibullFitter().fit(months, event_observed=churned)
    return found | {"rho": float(fitter.rho_), "lam": float(fitter.lambda_)}


def book_survival(session: Session, today: date) -> BookSurvival | None:
    """Return today's book survival fit (stored once a day), or None with too few churned."""
    try:
        fit = stored_snapshot(session, SNAPSHOT)
        if fit["as_of"] != today.isoformat():
            raise NotFound("stale")
    except NotFound:
        end = datetime.combine(today, datetime.min.time())  # naive UTC, like the table's
        fit = fit_book_survival(session, end)
        store_snapshot(session, SNAPSHOT, fit, as_of=today)
    return BookSurvival(fit["rho"], fit["lam"]) if fit.get("rho") else None


def _inputs(
    session: Session, money: Money, day: date, account_ids: Collection[int] | None
) -> dict[int, dict[str, Any]]:
    """Return per paying account: MRR (major units), tenure (months), churn p and horizon."""
    mrr = session.execute(
        mrr_in_force_query(db_session=session, day=day, money=money, account_ids=account_ids)
    ).all()
    rows = {a: {"mrr": money.major(m)} for a, m, _ in mrr if m and m > 0}
    first = sa.select(Subscription.account_id, sa.func.min(Subscription.started_at))
    first = first.where(Subscription.mrr > 0, Subscription.account_id.in_(list(rows)))
    now = clock.now().replace(tzinfo=None)
    for account_id, started in session.execute(first.group_by(Subscription.account_id)):
        started = started.replace(tzinfo=None)
        rows[account_id]["tenure"] = max((now - started).days, 0) / DAYS_PER_MONTH
    scored = sa.select(ChurnScore.account_id, ChurnScore.probability, ChurnScore.horizon_days)
    scored = scored.where(ChurnScore.as_of == latest_day(session, ChurnScore))
    for account_id, p, horizon in session.execute(
        scored.where(ChurnScore.account_id.in_(list(rows)))
    ):
        rows[account_id] |= {"p": p, "horizon": horizon / DAYS_PER_MONTH}
    return rows


def account_values(
    session: Session, settings: Settings, day: date, account_ids: Collection[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Return per paying account its CLV, remaining lifetime (months), MRR and churn p."""
    rows = _inputs(session, Money.from_settings(settings), day, account_ids)
    if not rows:
        return {}
    ids = list(rows)

    def column(key: str, default: float) -> np.ndarray:
        return np.array([rows[i].get(key, default) for i in ids], float)

    value, lifetime = subscription_clv(
        column("mrr", 0.0), column("tenure", 0.0), column("p", np.nan),
        column("horizon", settings.churn_horizon_days / DAYS_PER_MONTH),
        book_survival(session, day), gross_margin=settings.gross_margin,
        discount_rate=settings.clv_discount_rate,
    )  # fmt: skip
    out = {}
    for i, account_id in enumerate(ids):
        known = bool(np.isfinite(value[i]))
        out[account_id] = rows[account_id] | {
            "clv": float(value[i]) if known else None,
            "lifetime_months": float(lifetime[i]) if known else None,
        }
    return out


def segment_values(session: Session, settings: Settings, day: date) -> list[dict[str, Any]]:
    """Return per segment (latest membership) its accounts, MRR and summed subscription CLV."""
    values = account_values(session, settings, day)
    latest = sa.select(
        SegmentMembership.segment_id, sa.func.max(SegmentMembership.as_of).label("d")
    )
    latest = latest.group_by(SegmentMembership.segment_id).subquery()
    members = (
        sa.select(Segment.name, SegmentMembership.account_id)
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .join(
            latest,
            sa.and_(
                latest.c.segment_id == SegmentMembership.segment_id,
                latest.c.d == SegmentMembership.as_of,
            ),
        )
    )
    totals: dict[str, dict[str, Any]] = {}
    for name, account_id in session.execute(members):
        total = totals.setdefault(name, {"segment": name, "accounts": 0, "mrr": 0.0, "clv": 0.0})
        found = values.get(account_id)
        total["accounts"] += 1
        if found and found["clv"] is not None:
            total["mrr"] += found["mrr"]
            total["clv"] += found["clv"]
    return sorted(totals.values(), key=lambda t: -t["clv"])
