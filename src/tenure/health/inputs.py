"""Gather what health measures are computed from, for every account at once (or a few).

"As of D" is the end of day D: the instant T = D + 1 day at 00:00 UTC; only data before T is
read. Accounts scored are those with a subscription live at the last instant of D
(started_at < T ≤ coalesce(ended_at, ∞)); their MRR is MRR in force (`tenure.accounts.mrr`),
converted to one currency. Usage comes from the warehouse `events` table (daily
stage, backtest) or from the real-time roll-ups (`tenure.health.realtime`); the rest comes from
the app DB with one grouped query per source, optionally restricted to some accounts.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Invoice, Subscription, SurveyResponse, Ticket
from tenure.accounts.mrr import conversion_factors, converted_mrr, in_force, priced
from tenure.accounts.schemas import Money
from tenure.accounts.service import currencies_in_use, in_force_by_account
from tenure.churn.models import ChurnScore
from tenure.health import usage
from tenure.segments.models import Segment, SegmentMembership
from tenure.warehouse.catalog import EVENTS

TICKET_WEIGHTS = {"urgent": 3.0, "high": 2.0, "normal": 1.0, "low": 0.5}
LOGIN_LOOKBACK_DAYS = usage.LOGIN_LOOKBACK_DAYS
USAGE_COLUMNS = ("events_30d", "events_prev_30d", "features_30d", "users_30d", "last_login_at")


def end_of(day: date) -> datetime:
    """Return T, the first instant (aware UTC) after day."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def _only(query: Select, column: Any, account_ids: Collection[int] | None) -> Select:
    return query if account_ids is None else query.where(column.in_(list(account_ids)))


def _frame(db_session: Session, query: Select, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(db_session.execute(query).all(), columns=columns)


def active_accounts(
    db_session: Session,
    day: date,
    account_ids: Collection[int] | None = None,
    *,
    money: Money | None = None,
) -> pd.DataFrame:
    """Return live accounts: account_id, created_at, seats, mrr, and their lifecycle stage.

    mrr is MRR in force (`tenure.accounts.mrr`) in minor units of money's reporting currency
    (default: US dollars at the built-in rates).
    """
    money = money or Money.default()
    live = in_force(Subscription.started_at, Subscription.ended_at, end_of(day))
    factors = conversion_factors(
        currencies_in_use(db_session=db_session), money.currency, money.rates
    )
    query = select(
        Subscription.account_id,
        Subscription.quantity,
        converted_mrr(Subscription.mrr, Subscription.currency, factors),
        Subscription.billing_interval,
        Subscription.started_at,
        Account.created_at,
    ).join(Account, Account.id == Subscription.account_id)
    subs = _frame(
        db_session,
        _only(
            query.where(live, priced(Subscription.currency, factors)),
            Subscription.account_id,
            account_ids,
        ),
        ["account_id", "seats", "mrr", "interval", "started_at", "created_at"],
    )
    if subs.empty:
        return pd.DataFrame(columns=["account_id", "created_at", "seats", "mrr", "lifecycle"])
    subs["renewal_soon"] = _renewal_within(subs, day, 60)
    accounts = subs.groupby("account_id", sort=True).agg(
        created_at=("created_at", "first"),
        seats=("seats", "sum"),
        mrr=("mrr", "sum"),
        renewal_soon=("renewal_soon", "any"),
    )
    accounts["lifecycle"] = _lifecycle(accounts, day)
    return accounts.reset_index().drop(columns="renewal_soon")


def _renewal_within(subs: pd.DataFrame, day: date, days: int) -> np.ndarray:
    """Return whether each annual subscription's next anniversary is within `days` of day."""
    out = np.zeros(len(subs), dtype=bool)
    for i, (interval, started) in enumerate(zip(subs["interval"], subs["started_at"], strict=True)):
        if interval != "year":
            continue
        start = pd.Timestamp(started).date()
        years = max(
            1,
            day.year - start.year + (1 if (day.month, day.day) >= (start.month, start.day) else 0),
        )
        anniversary = _same_day(start, start.year + years)
        out[i] = 0 <= (anniversary - day).days <= days
    return out


def _same_day(start: date, year: int) -> date:
    return (
        start.replace(year=year)
        if not (start.month == 2 and start.day == 29)
        else date(year, 2, 28)
    )


def _lifecycle(accounts: pd.DataFrame, day: date) -> np.ndarray:
    created = pd.to_datetime(accounts["created_at"], utc=True).dt.date
    age = np.array([(day - c).days for c in created])
    return np.where(
        age < 90, "onboarding", np.where(accounts["renewal_soon"], "renewal", "adoption")
    )


def segment_members(db_session: Session, day: date, names: Collection[str]) -> dict[str, set[int]]:
    """Return each named segment's members at its latest evaluation on or before day."""
    out: dict[str, set[int]] = {name: set() for name in names}
    if not names:
        return out
    latest = (
        select(SegmentMembership.segment_id, func.max(SegmentMembership.as_of).label("as_of"))
        .where(SegmentMembership.as_of <= day)
        .group_by(SegmentMembership.segment_id)
        .subquery()
    )
    query = (
        select(Segment.name, SegmentMembership.account_id)
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .join(
            latest,
            and_(
                latest.c.segment_id == SegmentMembership.segment_id,
                latest.c.as_of == SegmentMembership.as_of,
            ),
        )
        .where(Segment.name.in_(list(names)))
    )
    for name, account_id in db_session.execute(query):
        out[name].add(account_id)
    return out


def warehouse_usage(
    con: Any, day: date, login_events: list[str], *, with_base: bool = False
) -> pd.DataFrame:
    """Return per-account usage as of day from the warehouse (and the real-time baseline)."""
    backend = ibis.duckdb.from_connection(con)
    events = usage.duckdb_events(backend, EVENTS)
    return usage.run_usage(backend, events, day, login_events, with_base=with_base)


def population_flags(con: Any, day: date, login_events: list[str]) -> dict[str, bool]:
    """Return whether the events before day's end carry logins and contact ids at all."""
    backend = ibis.duckdb.from_connection(con)
    return usage.run_flags(backend, usage.duckdb_events(backend, EVENTS), day, login_events)


def app_inputs(
    db_session: Session,
    day: date,
    account_ids: Collection[int] | None = None,
    *,
    money: Money | None = None,
) -> pd.DataFrame:
    """Return per-account support, survey, billing and churn inputs from the app DB."""
    parts = [
        _support(db_session, day, account_ids),
        _csat(db_session, day, account_ids),
        _nps(db_session, day, account_ids),
        _failed_payments(db_session, day, account_ids),
        _downgrades(db_session, day, account_ids, money or Money.default()),
        _churn(db_session, day, account_ids),
    ]
    frame = pd.DataFrame(columns=["account_id"])
    for part in parts:
        frame = frame.merge(part, on="account_id", how="outer")
    return frame


def _support(db_session: Session, day: date, ids: Collection[int] | None) -> pd.DataFrame:
    end = end_of(day)
    query = select(Ticket.account_id, Ticket.priority).where(
        Ticket.opened_at < end,
        or_(
            Ticket.opened_at >= end - timedelta(days=30),
            Ticket.closed_at.is_(None),
            Ticket.closed_at >= end,
        ),
    )
    tickets = _frame(db_session, _only(query, Ticket.account_id, ids), ["account_id", "priority"])
    tickets["support_load"] = tickets["priority"].map(TICKET_WEIGHTS).fillna(1.0)
    return tickets.groupby("account_id", as_index=False)["support_load"].sum()


def _csat(db_session: Session, day: date, ids: Collection[int] | None) -> pd.DataFrame:
    end, since = end_of(day), end_of(day) - timedelta(days=90)
    tickets = select(Ticket.account_id, Ticket.csat.label("csat")).where(
        Ticket.csat.is_not(None), Ticket.opened_at < end, Ticket.opened_at >= since
    )
    surveys = select(SurveyResponse.account_id, SurveyResponse.score.label("csat")).where(
        SurveyResponse.kind == "csat",
        SurveyResponse.responded_at < end,
        SurveyResponse.responded_at >= since,
    )
    frames = [
        _frame(db_session, _only(tickets, Ticket.account_id, ids), ["account_id", "csat"]),
        _frame(db_session, _only(surveys, SurveyResponse.account_id, ids), ["account_id", "csat"]),
    ]
    both = pd.concat(frames, ignore_index=True).astype({"csat": float})
    return both.groupby("account_id", as_index=False)["csat"].mean()


def _nps(db_session: Session, day: date, ids: Collection[int] | None) -> pd.DataFrame:
    end = end_of(day)
    query = (
        select(SurveyResponse.account_id, func.avg(SurveyResponse.score * 1.0))
        .where(
            SurveyResponse.kind == "nps",
            SurveyResponse.responded_at < end,
            SurveyResponse.responded_at >= end - timedelta(days=180),
        )
        .group_by(SurveyResponse.account_id)
    )
    frame = _frame(db_session, _only(query, SurveyResponse.account_id, ids), ["account_id", "nps"])
    return frame.astype({"nps": float})


def _failed_payments(db_session: Session, day: date, ids: Collection[int] | None) -> pd.DataFrame:
    end = end_of(day)
    query = (
        select(Invoice.account_id, func.count())
        .where(
            Invoice.status == "failed",
            Invoice.issued_at < end,
            Invoice.issued_at >= end - timedelta(days=90),
        )
        .group_by(Invoice.account_id)
    )
    return _frame(
        db_session, _only(query, Invoice.account_id, ids), ["account_id", "failed_payments"]
    )


def _mrr_at(
    db_session: Session, day: date, ids: Collection[int] | None, money: Money
) -> pd.DataFrame:
    found = in_force_by_account(db_session=db_session, day=day, money=money, account_ids=ids)
    return pd.DataFrame([(i, f.mrr) for i, f in found.items()], columns=["account_id", "mrr"])


def _downgrades(
    db_session: Session, day: date, ids: Collection[int] | None, money: Money
) -> pd.DataFrame:
    now = _mrr_at(db_session, day, ids, money)
    then = _mrr_at(db_session, day - timedelta(days=90), ids, money)
    both = now.merge(then, on="account_id", suffixes=("", "_90d"))
    both["downgrades"] = ((both["mrr"] > 0) & (both["mrr"] < both["mrr_90d"])).astype(int)
    return both[["account_id", "downgrades"]]


def _churn(db_session: Session, day: date, ids: Collection[int] | None) -> pd.DataFrame:
    window = and_(ChurnScore.as_of <= day, ChurnScore.as_of >= day - timedelta(days=35))
    latest = _only(
        select(ChurnScore.account_id, func.max(ChurnScore.as_of).label("as_of"))
        .where(window)
        .group_by(ChurnScore.account_id),
        ChurnScore.account_id,
        ids,
    ).subquery()
    query = select(ChurnScore.account_id, ChurnScore.probability).join(
        latest,
        and_(latest.c.account_id == ChurnScore.account_id, latest.c.as_of == ChurnScore.as_of),
    )
    frame = _frame(db_session, query, ["account_id", "churn_probability"])
    return frame.astype({"churn_probability": float})


def population_has(db_session: Session, day: date) -> dict[str, bool]:
    """Return whether any ticket and any churn score exist at all by day's end."""
    end = end_of(day)

    def exists(query: Select) -> bool:
        return db_session.execute(query.limit(1)).first() is not None

    return {
        "support_load": exists(select(Ticket.id).where(Ticket.opened_at < end)),
        "churn_probability": exists(select(ChurnScore.id).where(ChurnScore.as_of <= day)),
    }
