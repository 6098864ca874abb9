"""Accounts for the API: the filtered, sorted book and the 360 view of one account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Subscription
from tenure.churn.models import ChurnScore
from tenure.errors import InputError, NotFound
from tenure.health.models import HealthScore
from tenure.metrics.currency import minor_unit_factors, settings_rates
from tenure.money import minor_exponent
from tenure.segments.models import Segment, SegmentMembership

SORTS = ("name", "mrr", "health", "churn", "created_at")


@dataclass(frozen=True)
class AccountQuery:
    """Filters, sort and page of the accounts list."""

    tier: str | None = None
    segment: str | None = None
    owner: str | None = None
    risk: str | None = None
    mrr_min: float | None = None
    mrr_max: float | None = None
    q: str | None = None
    sort: str = "name"
    limit: int = 50
    offset: int = 0


def mrr_factor(currency_column: Any, rates: dict[str, float], reporting: str) -> Any:
    """Return a SQL expression: reporting-currency minor units per minor unit of the row."""
    factors = minor_unit_factors(rates.keys(), reporting, settings_rates(rates))
    return sa.case(*((currency_column == code, f) for code, f in factors.items()), else_=None)


def current_mrr_query(rates: dict[str, float], reporting: str, at: datetime) -> sa.Select:
    """Return a query (account_id, mrr) of each account's MRR running at a time."""
    factor = mrr_factor(Subscription.currency, rates, reporting)
    return (
        sa.select(
            Subscription.account_id.label("account_id"),
            sa.func.sum(Subscription.mrr * factor).label("mrr"),
        )
        .where(
            Subscription.started_at <= at,
            sa.or_(Subscription.ended_at.is_(None), Subscription.ended_at > at),
        )
        .group_by(Subscription.account_id)
    )


def current_mrr(rates: dict[str, float], reporting: str, at: datetime) -> Any:
    """Return a subquery (account_id, mrr) of each account's MRR running at a time."""
    return current_mrr_query(rates, reporting, at).subquery("current_mrr")


def latest_day(session: Session, column: Any) -> date | None:
    """Return the newest as-of day of a score table."""
    return session.scalar(sa.select(sa.func.max(column)))


def _segment_members(session: Session, name: str) -> Any:
    segment = session.scalar(sa.select(Segment).where(Segment.name == name))
    if segment is None:
        raise InputError(f"segment: no segment named {name!r}")
    day = session.scalar(
        sa.select(sa.func.max(SegmentMembership.as_of)).where(
            SegmentMembership.segment_id == segment.id
        )
    )
    return sa.select(SegmentMembership.account_id).where(
        SegmentMembership.segment_id == segment.id, SegmentMembership.as_of == day
    )


def _order(sort: str, mrr: Any) -> list[Any]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTS:
        raise InputError(f"sort must be one of {', '.join(SORTS)} (prefix - for descending)")
    column = {
        "name": Account.name,
        "mrr": mrr,
        "health": HealthScore.score,
        "churn": ChurnScore.probability,
        "created_at": Account.created_at,
    }[key]
    ordered = column.desc() if descending else column.asc()
    return [ordered.nulls_last(), Account.id]


def _filtered(session: Session, query: AccountQuery, mrr: Any, digits: int) -> Any:
    health_day = latest_day(session, HealthScore.as_of)
    churn_day = latest_day(session, ChurnScore.as_of)
    statement = (
        sa.select(Account, mrr, HealthScore, ChurnScore)
        .outerjoin(
            HealthScore, (HealthScore.account_id == Account.id) & (HealthScore.as_of == health_day)
        )
        .outerjoin(
            ChurnScore, (ChurnScore.account_id == Account.id) & (ChurnScore.as_of == churn_day)
        )
    )
    conditions = []
    if query.tier:
        conditions.append(HealthScore.tier == query.tier)
    if query.risk:
        conditions.append(ChurnScore.risk_tier == query.risk)
    if query.owner:
        conditions.append(sa.func.lower(Account.owner) == query.owner.strip().lower())
    if query.segment:
        conditions.append(Account.id.in_(_segment_members(session, query.segment)))
    if query.q:
        pattern = "%" + query.q.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
        conditions.append(
            sa.or_(
                sa.func.lower(Account.name).like(pattern, escape="\\"),
                sa.func.lower(Account.external_id).like(pattern, escape="\\"),
            )
        )
    if query.mrr_min is not None:
        conditions.append(sa.func.coalesce(mrr, 0) >= query.mrr_min * 10**digits)
    if query.mrr_max is not None:
        conditions.append(sa.func.coalesce(mrr, 0) <= query.mrr_max * 10**digits)
    return statement.where(*conditions)


def list_accounts(
    session: Session, query: AccountQuery, *, rates: dict[str, float], currency: str
) -> dict[str, Any]:
    """Return one page of accounts with MRR, latest health and churn risk, and the total.

    MRR is joined for every account only when it filters or sorts; otherwise it is read for the
    page's accounts alone (the list of 100k accounts stays fast).
    """
    now, digits = clock.now(), minor_exponent(currency)
    by_mrr = (
        query.sort.lstrip("-") == "mrr" or query.mrr_min is not None or query.mrr_max is not None
    )
    if by_mrr:
        current = current_mrr(rates, currency, now)
        mrr = current.c.mrr
        statement = _filtered(session, query, mrr, digits).outerjoin(
            current, current.c.account_id == Account.id
        )
    else:
        mrr = sa.null().label("mrr")
        statement = _filtered(session, query, mrr, digits)
    total = session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
    page = statement.order_by(*_order(query.sort, mrr)).limit(query.limit).offset(query.offset)
    rows = session.execute(page).all()
    if not by_mrr:
        ids = [account.id for account, *_ in rows]
        mrr_query = current_mrr_query(rates, currency, now).where(Subscription.account_id.in_(ids))
        values = dict(session.execute(mrr_query).all())
        rows = [(account, values.get(account.id), h, c) for account, _, h, c in rows]
    items = [account_row(account, value, h, c, digits) for account, value, h, c in rows]
    return {"total": total, "limit": query.limit, "offset": query.offset, "items": items}


def account_row(
    account: Account,
    mrr: float | None,
    health: HealthScore | None,
    churn: ChurnScore | None,
    digits: int,
) -> dict[str, Any]:
    """Return an account's list row."""
    return {
        "id": account.id,
        "external_id": account.external_id,
        "name": account.name,
        "owner": account.owner,
        "industry": account.industry,
        "region": account.region,
        "created_at": account.created_at,
        "mrr": round((mrr or 0) / 10**digits, digits),
        "health_score": health.score if health else None,
        "health_tier": health.tier if health else None,
        "churn_probability": churn.probability if churn else None,
        "risk_tier": churn.risk_tier if churn else None,
    }


def get_account(session: Session, account_id: int) -> Account:
    """Return an account or raise NotFound."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account with id {account_id}")
    return account


def health_out(row: HealthScore) -> dict[str, Any]:
    """Return a health score as the API shows it."""
    return {
        "as_of": row.as_of,
        "scorecard": row.scorecard,
        "score": row.score,
        "tier": row.tier,
        "reason": row.reason,
        "change_7d": row.change_7d,
        "change_30d": row.change_30d,
        "measures": row.measures,
    }


def churn_out(row: ChurnScore) -> dict[str, Any]:
    """Return a churn score as the API shows it."""
    return {
        "as_of": row.as_of,
        "probability": row.probability,
        "risk_tier": row.risk_tier,
        "model_version": row.model_version,
        "horizon_days": row.horizon_days,
        "reasons": row.reasons,
    }


def latest_scores(session: Session, account_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return account id -> latest health and churn score (None where never scored)."""
    result: dict[int, dict[str, Any]] = {i: {"health": None, "churn": None} for i in account_ids}
    for model, key, out in ((HealthScore, "health", health_out), (ChurnScore, "churn", churn_out)):
        newest = (
            sa.select(model.account_id, sa.func.max(model.as_of).label("as_of"))
            .where(model.account_id.in_(account_ids))
            .group_by(model.account_id)
            .subquery()
        )
        rows = session.scalars(
            sa.select(model).join(
                newest, (model.account_id == newest.c.account_id) & (model.as_of == newest.c.as_of)
            )
        )
        for row in rows:
            result[row.account_id][key] = out(row)
    return result
