"""The per-account frame that segments filter and cluster, built as of a date.

"As of D" means the state at the end of day D: the instant T = D + 1 day, 00:00 UTC. An
account is in the frame when created before T. Its `mrr` is the sum of the subscription rows
live at the last instant of D (started_at < T ≤ coalesce(ended_at, ∞): MRR in force, the one rule
of `tenure.accounts.mrr`) in reporting-currency major units; `seats` the sum of
their quantities; `plan` the plan of the latest row started before T. `tenure_months` counts
whole calendar months from created_at to D. Keys of `attributes` appear as `attributes.KEY`.
`health_score`/`health_tier` and `churn_probability`/`churn_risk` are each account's latest
stored scores dated on or before D (missing when none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, func, select

from tenure.accounts.models import Account, Invoice, Subscription, Ticket
from tenure.accounts.schemas import Money
from tenure.accounts.service import in_force_by_account
from tenure.churn.models import ChurnScore
from tenure.health.models import HealthScore
from tenure.metrics.currency import FX_RATES, to_major_units

BASE_FIELDS = (
    "account_id",
    "external_id",
    "name",
    "industry",
    "region",
    "owner",
    "created_at",
    "tenure_months",
    "plan",
    "mrr",
    "seats",
    "health_score",
    "health_tier",
    "churn_probability",
    "churn_risk",
)
NO_SCORES = {"health_score": None, "health_tier": None, "churn_probability": None}
NO_SCORES |= {"churn_risk": None}


def instant_after(as_of: date) -> datetime:
    """Return T, the first instant (aware UTC) after the day as_of."""
    return datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)


def month_before(as_of: date) -> date:
    """Return the same day one month earlier (clamped to the month's last day)."""
    year, month = (as_of.year, as_of.month - 1) if as_of.month > 1 else (as_of.year - 1, 12)
    day = as_of.day
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1


def whole_months(start: datetime, end: date) -> int:
    """Return the whole calendar months from start's day to end (never negative)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return max(0, months - (1 if end.day < start.day else 0))


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def account_mrr(
    conn: Connection, as_of: date, *, currency: str, rates: Mapping[str, Decimal] = FX_RATES
) -> dict[int, dict[str, Any]]:
    """Return per account: mrr (minor units, reporting currency), seats and plan as of a date.

    mrr and seats are the read model's MRR in force (`tenure.accounts.mrr`); plan is the plan
    of the latest row started before T.
    """
    end = instant_after(as_of)
    money = Money(currency.upper(), rates)
    live = in_force_by_account(db_session=conn, day=as_of, money=money)
    plans = select(Subscription.account_id, Subscription.plan).where(Subscription.started_at < end)
    state: dict[int, dict[str, Any]] = defaultdict(lambda: {"mrr": 0, "seats": 0, "plan": None})
    for account_id, plan in conn.execute(plans.order_by(Subscription.started_at, Subscription.id)):
        state[account_id]["plan"] = plan
    for account_id, found in live.items():
        state[account_id] |= {"mrr": found.mrr, "seats": found.seats}
    return dict(state)


def _latest(conn: Connection, model: Any, columns: tuple[Any, ...], as_of: date) -> dict:
    """Return {account_id: row of columns} of each account's latest row dated on or before D."""
    latest = (
        select(model.account_id, func.max(model.as_of).label("day"))
        .where(model.as_of <= as_of)
        .group_by(model.account_id)
        .subquery()
    )
    query = select(model.account_id, *columns).join(
        latest, (model.account_id == latest.c.account_id) & (model.as_of == latest.c.day)
    )
    return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


def latest_scores(conn: Connection, as_of: date) -> dict[int, dict[str, Any]]:
    """Return each account's latest health score/tier and churn probability/risk as of D."""
    health = _latest(conn, HealthScore, (HealthScore.score, HealthScore.tier), as_of)
    churn = _latest(conn, ChurnScore, (ChurnScore.probability, ChurnScore.risk_tier), as_of)
    scores: dict[int, dict[str, Any]] = defaultdict(lambda: dict(NO_SCORES))
    for account_id, (score, tier) in health.items():
        scores[account_id] |= {"health_score": score, "health_tier": tier}
    for account_id, (probability, risk) in churn.items():
        scores[account_id] |= {"churn_probability": probability, "churn_risk": risk}
    return dict(scores)


def _flatten(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        f"attributes.{key}": value
        for key, value in (attributes or {}).items()
        if value is None or isinstance(value, str | int | float | bool)
    }


def _column(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def account_frame(
    conn: Connection,
    as_of: date,
    *,
    currency: str = "USD",
    rates: Mapping[str, Decimal] = FX_RATES,
) -> pa.Table:
    """Return one row per account that exists as of the date, with BASE_FIELDS + attributes.*."""
    end = instant_after(as_of)
    billing = account_mrr(conn, as_of, currency=currency, rates=rates)
    scores = latest_scores(conn, as_of)
    query = select(Account).where(Account.created_at < end).order_by(Account.id)
    accounts = list(conn.execute(query))
    rows = []
    for a in accounts:
        bill = billing.get(a.id, {"mrr": 0, "seats": 0, "plan": None})
        created = _aware(a.created_at)
        row = {
            "account_id": a.id,
            "external_id": a.external_id,
            "name": a.name,
            "industry": a.industry,
            "region": a.region,
            "owner": a.owner,
            "created_at": created.replace(tzinfo=None),
            "tenure_months": whole_months(created, as_of),
            "plan": bill["plan"],
            "mrr": to_major_units(bill["mrr"], currency),
            "seats": bill["seats"],
        }
        row |= scores.get(a.id, NO_SCORES)
        rows.append(row | _flatten(a.attributes))
    return _table(rows)


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    extra = sorted({k for r in rows for k in r} - set(BASE_FIELDS))
    schema = {
        "account_id": pa.int64(),
        "external_id": pa.string(),
        "name": pa.string(),
        "industry": pa.string(),
        "region": pa.string(),
        "owner": pa.string(),
        "created_at": pa.timestamp("us"),
        "tenure_months": pa.int64(),
        "plan": pa.string(),
        "mrr": pa.float64(),
        "seats": pa.int64(),
        "health_score": pa.float64(),
        "health_tier": pa.string(),
        "churn_probability": pa.float64(),
        "churn_risk": pa.string(),
    }
    columns = {name: pa.array([r[name] for r in rows], type=kind) for name, kind in schema.items()}
    for name in extra:
        columns[name] = _column([r.get(name) for r in rows])
    return pa.table(columns)


def _count_by_account(conn: Connection, query: Any) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for (account_id,) in conn.execute(query):
        counts[account_id] += 1
    return dict(counts)


def support_and_billing_counts(conn: Connection, as_of: date) -> dict[str, dict[int, int]]:
    """Return per account: tickets opened and invoices failed in the 90 days up to as_of."""
    end = instant_after(as_of)
    start = end - timedelta(days=90)
    tickets = select(Ticket.account_id).where(Ticket.opened_at >= start, Ticket.opened_at < end)
    failed = select(Invoice.account_id).where(
        Invoice.status == "failed", Invoice.issued_at >= start, Invoice.issued_at < end
    )
    return {
        "tickets_90d": _count_by_account(conn, tickets),
        "failed_invoices_90d": _count_by_account(conn, failed),
    }
