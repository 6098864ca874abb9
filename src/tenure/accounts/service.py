"""The account read model: the book, the 360, owners, tiers; the API and the dashboard call it.

The only module of `tenure.accounts` that queries the app DB. MRR is always "MRR in force"
(`tenure.accounts.mrr`) on a day, in major units of the reporting currency. What a reader may
see follows the API's permissions (`Reader`): events only with events:read, a csm only the
alerts of their own accounts.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.messages import recent_messages
from tenure.accounts.models import Account, Contact, Subscription, Ticket
from tenure.accounts.mrr import (
    conversion_factors,
    converted_mrr,
    in_force,
    instant_after,
    month_end_days,
    priced,
)
from tenure.accounts.people import (
    contact_names,
    masked_alerts,
    masked_contacts,
    masked_events,
    masked_tickets,
)
from tenure.accounts.schemas import (
    MAX_ID,
    SORTS,
    AccountFilters,
    AccountPage,
    AccountRow,
    AccountView,
    InForce,
    Money,
    MrrPoint,
    Reader,
)
from tenure.accounts.scores import latest_day
from tenure.alerts import service as alerts_service
from tenure.churn.models import ChurnScore
from tenure.errors import InputError, NotFound
from tenure.events.models import EventDailyCounts, InboxEvent, RecentEvent
from tenure.health.models import HealthScore
from tenure.segments.models import Segment, SegmentMembership


def currencies_in_use(
    *, db_session: Session, account_ids: Collection[int] | None = None
) -> list[str]:
    """Return the distinct currencies of the subscriptions (of some accounts only)."""
    query = sa.select(Subscription.currency).distinct()
    if account_ids is not None:
        query = query.where(Subscription.account_id.in_(list(account_ids)))
    return sorted(db_session.scalars(query))


def mrr_in_force_query(
    *, db_session: Session, day: date, money: Money, account_ids: Collection[int] | None = None
) -> sa.Select:
    """Return a select (account_id, mrr, seats) of MRR in force on day, reporting minor units.

    Rows in a currency without a rate are left out (`tenure.accounts.mrr`). Restricting to a
    page's accounts keeps the currency look-up off the whole table.
    """
    in_use = currencies_in_use(db_session=db_session, account_ids=account_ids)
    factors = conversion_factors(in_use, money.currency, money.rates)
    mrr = converted_mrr(Subscription.mrr, Subscription.currency, factors)
    query = (
        sa.select(
            Subscription.account_id.label("account_id"),
            sa.func.sum(mrr).label("mrr"),
            sa.func.sum(Subscription.quantity).label("seats"),
        )
        .where(in_force(Subscription.started_at, Subscription.ended_at, instant_after(day)))
        .where(priced(Subscription.currency, factors))
        .group_by(Subscription.account_id)
    )
    if account_ids is not None:
        query = query.where(Subscription.account_id.in_(list(account_ids)))
    return query


def mrr_in_force(
    *, db_session: Session, day: date, money: Money, account_ids: list[int] | None = None
) -> dict[int, int]:
    """Return account id -> MRR in force on day (reporting minor units; absent when none)."""
    query = mrr_in_force_query(db_session=db_session, day=day, money=money, account_ids=account_ids)
    return {account_id: int(mrr) for account_id, mrr, _seats in db_session.execute(query)}


def in_force_by_account(
    *, db_session: Session, day: date, money: Money, account_ids: Collection[int] | None = None
) -> dict[int, InForce]:
    """Return account id -> MRR in force on day and its seats (accounts with a live row only).

    db_session may also be a Connection (segments read through one).
    """
    query = mrr_in_force_query(db_session=db_session, day=day, money=money, account_ids=account_ids)
    return {i: InForce(mrr=int(m), seats=int(n)) for i, m, n in db_session.execute(query)}


def get_account(*, db_session: Session, account_id: int) -> Account:
    """Return an account, or raise NotFound (also for ids no row can have)."""
    account = db_session.get(Account, account_id) if 1 <= account_id <= MAX_ID else None
    if account is None:
        raise NotFound(f"no account with id {account_id}")
    return account


def _segment_members(db_session: Session, name: str) -> sa.Select:
    segment = db_session.scalar(sa.select(Segment).where(Segment.name == name))
    if segment is None:
        raise NotFound(f"segment: no segment named {name!r}")
    day = db_session.scalar(
        sa.select(sa.func.max(SegmentMembership.as_of)).where(
            SegmentMembership.segment_id == segment.id
        )
    )
    return sa.select(SegmentMembership.account_id).where(
        SegmentMembership.segment_id == segment.id, SegmentMembership.as_of == day
    )


def _conditions(db_session: Session, filters: AccountFilters, mrr: Any, money: Money) -> list:
    conditions: list[Any] = []
    if filters.tier:
        conditions.append(HealthScore.tier == filters.tier)
    if filters.risk:
        conditions.append(ChurnScore.risk_tier == filters.risk)
    if filters.owner:
        conditions.append(sa.func.lower(Account.owner) == filters.owner.strip().lower())
    if filters.segment:
        conditions.append(Account.id.in_(_segment_members(db_session, filters.segment)))
    if filters.q:
        pattern = "%" + filters.q.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
        conditions.append(
            sa.or_(
                sa.func.lower(Account.name).like(pattern, escape="\\"),
                sa.func.lower(Account.external_id).like(pattern, escape="\\"),
            )
        )
    scale = 10**money.digits
    if filters.mrr_min is not None:
        conditions.append(sa.func.coalesce(mrr, 0) >= filters.mrr_min * scale)
    if filters.mrr_max is not None:
        conditions.append(sa.func.coalesce(mrr, 0) <= filters.mrr_max * scale)
    return conditions


def _order(sort: str, mrr: Any) -> list[Any]:
    key = sort.lstrip("-")
    if key not in SORTS:
        raise InputError(f"sort must be one of {', '.join(SORTS)} (prefix - for descending)")
    at_risk = sa.func.coalesce(mrr, 0) * sa.func.coalesce(ChurnScore.probability, 0.0)
    column = {
        "name": Account.name,
        "mrr": mrr,
        "health": HealthScore.score,
        "churn": ChurnScore.probability,
        "created_at": Account.created_at,
        "at_risk": at_risk,
    }[key]
    ordered = column.desc() if sort.startswith("-") else column.asc()
    then = [sa.func.coalesce(mrr, 0).desc()] if key == "at_risk" else []
    return [ordered.nulls_last(), *then, Account.id]


def _book(db_session: Session, mrr_join: Any) -> tuple[sa.Select, date | None, date | None]:
    health_day, churn_day = latest_day(db_session, HealthScore), latest_day(db_session, ChurnScore)
    mrr = mrr_join.c.mrr if mrr_join is not None else sa.null()
    query = (
        sa.select(Account, mrr.label("mrr"), HealthScore, ChurnScore)
        .outerjoin(
            HealthScore, (HealthScore.account_id == Account.id) & (HealthScore.as_of == health_day)
        )
        .outerjoin(
            ChurnScore, (ChurnScore.account_id == Account.id) & (ChurnScore.as_of == churn_day)
        )
    )
    if mrr_join is not None:
        query = query.outerjoin(mrr_join, mrr_join.c.account_id == Account.id)
    return query, health_day, churn_day


def list_accounts(
    *, db_session: Session, filters: AccountFilters, money: Money, day: date
) -> AccountPage:
    """Return one page of the book with MRR in force on day, latest health and churn risk.

    MRR is joined for every account only when it filters or sorts; otherwise it is read for the
    page's accounts alone (the list of 100k accounts stays fast).
    """
    joined = None
    if filters.needs_mrr:
        joined = mrr_in_force_query(db_session=db_session, day=day, money=money).subquery()
    query, health_day, churn_day = _book(db_session, joined)
    mrr = joined.c.mrr if joined is not None else None
    query = query.where(*_conditions(db_session, filters, mrr, money))
    total = db_session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    page = query.order_by(*_order(filters.sort, mrr)).limit(filters.limit).offset(filters.offset)
    rows = db_session.execute(page).all()
    if joined is None:
        ids = [account.id for account, *_ in rows]
        values = mrr_in_force(db_session=db_session, day=day, money=money, account_ids=ids)
        rows = [(account, values.get(account.id), h, c) for account, _, h, c in rows]
    return AccountPage(
        rows=[_row(account, money.major(m), h, c) for account, m, h, c in rows],
        total=total,
        limit=filters.limit,
        offset=filters.offset,
        health_day=health_day,
        churn_day=churn_day,
    )


def _row(account: Account, mrr: float, health: Any, churn: Any) -> AccountRow:
    return AccountRow(
        id=account.id,
        external_id=account.external_id,
        name=account.name,
        owner=account.owner,
        industry=account.industry,
        region=account.region,
        created_at=account.created_at,
        mrr=mrr,
        health_score=health.score if health else None,
        health_tier=health.tier if health else None,
        health_change=health.change_30d if health else None,
        churn_probability=churn.probability if churn else None,
        risk_tier=churn.risk_tier if churn else None,
    )


def at_risk_accounts(
    *, db_session: Session, money: Money, day: date, limit: int = 10
) -> list[AccountRow]:
    """Return the scored accounts with the most MRR at risk (MRR × churn probability)."""
    joined = mrr_in_force_query(db_session=db_session, day=day, money=money).subquery()
    query, _health_day, _churn_day = _book(db_session, joined)
    query = query.where(ChurnScore.probability.is_not(None))
    rows = db_session.execute(query.order_by(*_order("-at_risk", joined.c.mrr)).limit(limit))
    return [_row(account, money.major(m), h, c) for account, m, h, c in rows]


def owners(*, db_session: Session) -> list[str]:
    """Return the distinct account owners (CSMs), sorted."""
    query = sa.select(Account.owner).where(Account.owner.is_not(None)).distinct()
    return sorted(db_session.scalars(query))


def mrr_history(
    *, db_session: Session, account_id: int, money: Money, today: date, months: int
) -> list[MrrPoint]:
    """Return MRR in force at each of the last complete month-ends and today (one query)."""
    points = [*month_end_days(today, months), (None, today)]
    in_use = currencies_in_use(db_session=db_session, account_ids=[account_id])
    factors = conversion_factors(in_use, money.currency, money.rates)
    value = converted_mrr(Subscription.mrr, Subscription.currency, factors)
    parts = [
        sa.select(sa.literal(i).label("point"), sa.func.sum(value).label("mrr")).where(
            Subscription.account_id == account_id,
            in_force(Subscription.started_at, Subscription.ended_at, instant_after(day)),
            priced(Subscription.currency, factors),
        )
        for i, (_month, day) in enumerate(points)
    ]
    totals = dict(db_session.execute(sa.union_all(*parts)).all())
    return [
        MrrPoint(day=day, mrr=money.major(totals.get(i)), month=month)
        for i, (month, day) in enumerate(points)
    ]


def _recent(db_session: Session, model: Any, account_id: int, order: Any, limit: int) -> list:
    query = sa.select(model).where(model.account_id == account_id).order_by(order).limit(limit)
    return list(db_session.scalars(query))


def _in_force_ids(db_session: Session, account_id: int, day: date) -> set[int]:
    live = in_force(Subscription.started_at, Subscription.ended_at, instant_after(day))
    query = sa.select(Subscription.id).where(Subscription.account_id == account_id, live)
    return set(db_session.scalars(query))


def recent_events(
    *, db_session: Session, account_id: int, reader: Reader, limit: int = 50
) -> list[InboxEvent | RecentEvent] | None:
    """Return the account's newest events, or None when the reader may not see events.

    Two places hold them: the pipeline's serving copy of the warehouse (events of every source)
    and the inbox (events from the API, some not yet moved); the newest of both, once each.
    """
    account = get_account(db_session=db_session, account_id=account_id)
    if not reader.sees_events:
        return None
    inbox = (
        sa.select(InboxEvent)
        .where(InboxEvent.account_external_id == account.external_id)
        .order_by(InboxEvent.ts.desc())
        .limit(limit)
    )
    copied = _recent(db_session, RecentEvent, account_id, RecentEvent.ts.desc(), limit)
    newest: dict[str, InboxEvent | RecentEvent] = {}
    for event in [*db_session.scalars(inbox), *copied]:
        newest.setdefault(event.message_id, event)
    ordered = sorted(newest.values(), key=lambda e: (e.ts, e.message_id), reverse=True)
    if not reader.sees_people_of(account.owner):
        return masked_events(ordered[:limit], contact_names(db_session, [account_id]))
    return ordered[:limit]


def event_counts(
    *, db_session: Session, account_id: int, reader: Reader
) -> list[EventDailyCounts] | None:
    """Return the account's daily counts per event name (most frequent first), None if hidden."""
    if not reader.sees_events:
        return None
    query = (
        sa.select(EventDailyCounts)
        .where(EventDailyCounts.account_id == account_id)
        .order_by(EventDailyCounts.total.desc(), EventDailyCounts.name)
    )
    return list(db_session.scalars(query))


def account_alerts(*, db_session: Session, account_id: int, reader: Reader) -> list:
    """Return the account's alerts the reader may see (a csm: only their own), newest first.

    Identifiers in them are masked for a reader who may not see the account's people.
    """
    rows = alerts_service.list_alerts(
        db_session, account_id=account_id, owner=reader.alerts_owner, limit=50
    )
    owner = get_account(db_session=db_session, account_id=account_id).owner
    if reader.sees_people_of(owner):
        return rows
    return masked_alerts(rows, contact_names(db_session, [account_id]))


def account_360(
    *,
    db_session: Session,
    account_id: int,
    reader: Reader,
    money: Money,
    today: date,
    history: int = 180,
    months: int = 24,
    events: int = 50,
) -> AccountView:
    """Return everything the reader may see about one account, or raise NotFound."""
    account = get_account(db_session=db_session, account_id=account_id)
    mrr = mrr_history(
        db_session=db_session, account_id=account_id, money=money, today=today, months=months
    )
    contacts = db_session.scalar(sa.select(sa.func.count()).where(Contact.account_id == account_id))
    subscriptions = _recent(db_session, Subscription, account_id, Subscription.started_at, 1000)
    health = _recent(db_session, HealthScore, account_id, HealthScore.as_of.desc(), history)
    churn = _recent(db_session, ChurnScore, account_id, ChurnScore.as_of.desc(), history)
    tickets = _recent(db_session, Ticket, account_id, Ticket.opened_at.desc(), 20)
    people = _recent(db_session, Contact, account_id, Contact.name, 50)
    reveal = reader.sees_people_of(account.owner)
    names = [] if reveal else contact_names(db_session, [account_id])
    live_ids = _in_force_ids(db_session, account_id, today)
    live = [s for s in subscriptions if s.id in live_ids]
    return AccountView(
        account=account,
        contacts=contacts or 0,
        plan=live[-1].plan if live else None,
        seats=sum(s.quantity for s in live),
        currency=money.currency,
        mrr_now=mrr[-1].mrr,
        mrr_history=mrr,
        subscriptions=subscriptions,
        health_history=health[::-1],
        churn_history=churn[::-1],
        events=recent_events(
            db_session=db_session, account_id=account_id, reader=reader, limit=events
        ),
        event_counts=event_counts(db_session=db_session, account_id=account_id, reader=reader),
        tickets=tickets if reveal else masked_tickets(tickets, names),
        people=people if reveal else masked_contacts(people, names),
        alerts=account_alerts(db_session=db_session, account_id=account_id, reader=reader),
        messages=recent_messages(db_session, account, reader),
    )
