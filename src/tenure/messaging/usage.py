"""The message variables read in bulk from the serving tables: plan, renewal, scores, usage."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Subscription
from tenure.accounts.mrr import in_force, instant_after
from tenure.alerts.evaluation import next_anniversary
from tenure.events.models import EventDailyCounts
from tenure.health.models import HealthScore
from tenure.money import minor_exponent

CHUNK = 900  # ids per IN list
WINDOW_DAYS = 30
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$"}
_MEASURE_WORDS = {
    "usage_breadth": "few features in use",
    "usage_depth": "light product usage",
    "usage_trend": "product usage is falling",
    "login_recency": "no recent logins",
    "seat_utilisation": "many seats unused",
    "support_load": "a heavy support load",
    "billing_health": "billing problems",
    "nps": "low NPS answers",
    "csat": "low satisfaction ratings",
    "churn_probability": "a high churn risk",
}
WEAK_SCORE = 60.0  # a measure scoring below this (of 100) is a reason


def chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    """Yield ids in lists short enough for one IN clause."""
    unique = sorted(set(ids))
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]


def format_money(minor: int | None, currency: str) -> str | None:
    """Return an amount of minor units as text ("$1,250", "€99.50"); None stays None."""
    if minor is None:
        return None
    digits = minor_exponent(currency)
    major = minor / 10**digits
    text = f"{major:,.0f}" if float(major).is_integer() else f"{major:,.{digits}f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def renewal_date(interval: str, started: date, today: date) -> date:
    """Return the next renewal of a live subscription (annual anniversary or monthly day)."""
    if interval == "year":
        return next_anniversary(started, today)
    month = today.year * 12 + today.month - 1
    for step in range(0, 3):
        year, index = divmod(month + step, 12)
        day = min(started.day, 28 if index == 1 else 30 if index in (3, 5, 8, 10) else 31)
        candidate = date(year, index + 1, day)
        if candidate >= today and candidate > started:
            return candidate
    return today


def plans(session: Session, account_ids: Sequence[int], today: date) -> dict[int, dict[str, Any]]:
    """Return account id -> {plan, renewal_date} of its newest live subscription."""
    out: dict[int, dict[str, Any]] = {}
    live = in_force(Subscription.started_at, Subscription.ended_at, instant_after(today))
    for ids in chunks(account_ids):
        rows = session.execute(
            sa.select(
                Subscription.account_id,
                Subscription.plan,
                Subscription.billing_interval,
                Subscription.started_at,
            )
            .where(Subscription.account_id.in_(ids), live)
            .order_by(Subscription.started_at, Subscription.id)
        )
        for account_id, plan, interval, started in rows:
            renews = renewal_date(interval, started.date(), today)
            out[account_id] = {"plan": plan, "renewal_date": renews}
    return out


def health_reasons(score: HealthScore) -> list[str]:
    """Return the weakest measures of a health score in words, weakest first (at most 3)."""
    weak = [
        (m.get("score"), name)
        for name, m in (score.measures or {}).items()
        if not m.get("missing") and m.get("score") is not None and m["score"] < WEAK_SCORE
    ]
    return [
        f"{_MEASURE_WORDS.get(name, name.replace('_', ' ') + ' is low')} (score {value:.0f} of 100)"
        for value, name in sorted(weak)[:3]
    ]


def usage(
    session: Session, account_ids: Sequence[int], today: date, ignored: set[str]
) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Return account id -> {features used, events, active days} in 30 days, and all features."""
    start = (today - timedelta(days=WINDOW_DAYS - 1)).isoformat()
    end = today.isoformat()
    found: dict[int, dict[str, Any]] = {}
    for ids in chunks(account_ids):
        query = sa.select(
            EventDailyCounts.account_id, EventDailyCounts.name, EventDailyCounts.counts
        ).where(EventDailyCounts.account_id.in_(ids))
        for account_id, name, counts in session.execute(query):
            days = {d: n for d, n in (counts or {}).items() if start <= d <= end and n}
            entry = found.setdefault(account_id, {"used": set(), "events": 0, "days": set()})
            entry["events"] += sum(days.values())
            entry["days"].update(days)
            if days and name not in ignored:
                entry["used"].add(name)
    names = session.scalars(sa.select(EventDailyCounts.name).distinct())
    features = sorted(n for n in names if n not in ignored and not n.startswith("Email "))
    return found, features
