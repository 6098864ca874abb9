"""Read the app DB for the dashboard: the account book with its latest health and churn risk.

Every function takes the session keyword-only and only reads. Money comes out in major units
of the reporting currency (converted with the fixed rates of the settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Subscription
from tenure.churn.models import ChurnScore
from tenure.errors import InputError
from tenure.health.models import HealthScore
from tenure.metrics.currency import minor_unit_factors
from tenure.money import minor_exponent

PAGE_SIZE = 25
SORTS = {
    "name": "name",
    "mrr": "mrr desc",
    "risk": "churn desc",
    "at_risk": "MRR at risk desc",
    "health": "health asc",
}


@dataclass(frozen=True)
class Money:
    """How to show the reporting currency: code and number of minor-unit digits."""

    currency: str
    rates: Mapping[str, Decimal]

    @property
    def digits(self) -> int:
        """Return the currency's minor-unit exponent."""
        return minor_exponent(self.currency)


@dataclass
class AccountFilters:
    """The accounts list's filters, as given in the query string."""

    q: str = ""
    tier: str = ""
    owner: str = ""
    risk: str = ""
    mrr_min: float | None = None
    mrr_max: float | None = None
    sort: str = "at_risk"
    page: int = 1

    def query(self, **changes: Any) -> dict[str, Any]:
        """Return the filters as query parameters (empty ones left out), with changes applied."""
        values = {**self.__dict__, **changes}
        return {k: v for k, v in values.items() if v not in ("", None)}


@dataclass
class AccountPage:
    """One page of the accounts list."""

    rows: list[dict[str, Any]]
    total: int
    filters: AccountFilters
    pages: int = 1
    as_of: dict[str, date | None] = field(default_factory=dict)


def _number(params: Mapping[str, str], name: str) -> float | None:
    text = (params.get(name) or "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name} must be a number, got {text!r}") from None
    if value < 0 or value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"{name} must be a non-negative number, got {text!r}")
    return value


def parse_filters(params: Mapping[str, str]) -> AccountFilters:
    """Return the filters of a query string, or raise InputError naming the bad parameter."""
    sort = params.get("sort") or "at_risk"
    if sort not in SORTS:
        raise InputError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    page_text = (params.get("page") or "1").strip()
    if not page_text.isdigit() or int(page_text) < 1 or len(page_text) > 6:
        raise InputError(f"page must be a whole number from 1, got {page_text!r}")
    risk = params.get("risk") or ""
    if risk and risk not in ("low", "medium", "high"):
        raise InputError(f"risk must be low, medium or high, got {risk!r}")
    return AccountFilters(
        q=(params.get("q") or "").strip()[:100],
        tier=(params.get("tier") or "").strip()[:32],
        owner=(params.get("owner") or "").strip()[:255],
        risk=risk,
        mrr_min=_number(params, "mrr_min"),
        mrr_max=_number(params, "mrr_max"),
        sort=sort,
        page=int(page_text),
    )


def latest_day(db_session: Session, model: type[HealthScore] | type[ChurnScore]) -> date | None:
    """Return the newest as_of day of a score table, or None when it is empty."""
    return db_session.scalar(sa.select(sa.func.max(model.as_of)))


def current_mrr(money: Money, now: datetime, currencies: list[str]) -> sa.Subquery:
    """Return a subquery (account_id, mrr) of MRR in force now, in reporting minor units."""
    factors = minor_unit_factors(currencies, money.currency, money.rates)
    factor = sa.case(
        *((Subscription.currency == code, value) for code, value in sorted(factors.items())),
        else_=0.0,
    )
    return (
        sa.select(Subscription.account_id, sa.func.sum(Subscription.mrr * factor).label("mrr"))
        .where(Subscription.started_at <= now)
        .where(sa.or_(Subscription.ended_at.is_(None), Subscription.ended_at > now))
        .group_by(Subscription.account_id)
        .subquery("current_mrr")
    )


def currencies_in_use(db_session: Session) -> list[str]:
    """Return the distinct currencies of the subscriptions."""
    return list(db_session.scalars(sa.select(Subscription.currency).distinct()))


def book_query(db_session: Session, money: Money, now: datetime) -> tuple[sa.Select, dict]:
    """Return the select of every account with MRR, latest health and churn, and its days."""
    mrr = current_mrr(money, now, currencies_in_use(db_session))
    health_day, churn_day = latest_day(db_session, HealthScore), latest_day(db_session, ChurnScore)
    mrr_value = sa.func.coalesce(mrr.c.mrr, 0.0)
    query = (
        sa.select(
            Account.id,
            Account.external_id,
            Account.name,
            Account.owner,
            Account.industry,
            mrr_value.label("mrr"),
            HealthScore.score.label("health"),
            HealthScore.tier.label("tier"),
            HealthScore.change_30d.label("health_change"),
            ChurnScore.probability.label("churn"),
            ChurnScore.risk_tier.label("risk"),
            (mrr_value * sa.func.coalesce(ChurnScore.probability, 0.0)).label("at_risk"),
        )
        .outerjoin(mrr, mrr.c.account_id == Account.id)
        .outerjoin(
            HealthScore, (HealthScore.account_id == Account.id) & (HealthScore.as_of == health_day)
        )
        .outerjoin(
            ChurnScore, (ChurnScore.account_id == Account.id) & (ChurnScore.as_of == churn_day)
        )
    )
    return query, {"health": health_day, "churn": churn_day}


def _filtered(query: sa.Select, filters: AccountFilters, money: Money) -> sa.Select:
    scale = 10**money.digits
    columns = query.selected_columns
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        query = query.where(
            sa.func.lower(Account.name).like(pattern)
            | sa.func.lower(Account.external_id).like(pattern)
        )
    if filters.tier:
        query = query.where(columns.tier == filters.tier)
    if filters.owner:
        query = query.where(Account.owner == filters.owner)
    if filters.risk:
        query = query.where(columns.risk == filters.risk)
    if filters.mrr_min is not None:
        query = query.where(columns.mrr >= filters.mrr_min * scale)
    if filters.mrr_max is not None:
        query = query.where(columns.mrr <= filters.mrr_max * scale)
    return query


def _ordered(query: sa.Select, sort: str) -> sa.Select:
    c = query.selected_columns
    orders = {
        "name": [c.name.asc()],
        "mrr": [c.mrr.desc()],
        "risk": [sa.func.coalesce(c.churn, -1.0).desc()],
        "at_risk": [c.at_risk.desc(), c.mrr.desc()],
        "health": [sa.func.coalesce(c.health, 1000.0).asc()],
    }
    return query.order_by(*orders[sort], c.id.asc())


def account_row(row: Mapping[str, Any], money: Money) -> dict[str, Any]:
    """Return a list row with money in major units."""
    scale = 10**money.digits
    out = dict(row)
    out["mrr"] = float(row["mrr"] or 0) / scale
    out["at_risk"] = float(row["at_risk"] or 0) / scale
    return out


def list_accounts(
    *, db_session: Session, filters: AccountFilters, money: Money, now: datetime
) -> AccountPage:
    """Return one page of accounts matching the filters, sorted as asked."""
    base, days = book_query(db_session, money, now)
    query = _filtered(base, filters, money)
    total = db_session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page, pages)
    rows = db_session.execute(
        _ordered(query, filters.sort).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).mappings()
    filters.page = page
    return AccountPage(
        rows=[account_row(r, money) for r in rows],
        total=total,
        filters=filters,
        pages=pages,
        as_of=days,
    )


def at_risk_accounts(
    *, db_session: Session, money: Money, now: datetime, limit: int = 10
) -> list[dict[str, Any]]:
    """Return the accounts with the most MRR at risk (MRR × churn probability)."""
    query, _days = book_query(db_session, money, now)
    query = query.where(query.selected_columns.churn.is_not(None))
    rows = db_session.execute(_ordered(query, "at_risk").limit(limit)).mappings()
    return [account_row(r, money) for r in rows]


def owners(*, db_session: Session) -> list[str]:
    """Return the distinct account owners (CSMs), sorted."""
    query = sa.select(Account.owner).where(Account.owner.is_not(None)).distinct()
    return sorted(db_session.scalars(query))


def tiers(*, db_session: Session) -> list[str]:
    """Return the health tiers present in the latest scores."""
    day = latest_day(db_session, HealthScore)
    query = sa.select(HealthScore.tier).where(HealthScore.as_of == day).distinct()
    return sorted(db_session.scalars(query))


def tier_distribution(*, db_session: Session) -> dict[str, Any]:
    """Return the latest day's count of accounts per health tier and per churn-risk tier."""
    health_day, churn_day = latest_day(db_session, HealthScore), latest_day(db_session, ChurnScore)
    health = db_session.execute(
        sa.select(HealthScore.tier, sa.func.count(), sa.func.avg(HealthScore.score))
        .where(HealthScore.as_of == health_day)
        .group_by(HealthScore.tier)
    ).all()
    risk = db_session.execute(
        sa.select(ChurnScore.risk_tier, sa.func.count())
        .where(ChurnScore.as_of == churn_day)
        .group_by(ChurnScore.risk_tier)
    ).all()
    return {
        "health_day": health_day,
        "churn_day": churn_day,
        "health": {tier: {"accounts": n, "mean": float(mean)} for tier, n, mean in health},
        "risk": dict(risk),
    }
