"""Event-by-event earning under a rule's caps and cool-down (real time and contact wallets)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tenure.loyalty.ledger import Earning
from tenure.loyalty.program import EarningRule


def allowed(rule: EarningRule, at: datetime, earned: list[datetime]) -> bool:
    """Return whether an event at `at` may earn under rule, given the pair's earning times."""
    if rule.lifetime_cap is not None and len(earned) >= rule.lifetime_cap:
        return False
    month = (at.year, at.month)
    in_month = sum(1 for t in earned if (t.year, t.month) == month)
    if rule.max_per_month is not None and in_month >= rule.max_per_month:
        return False
    cooldown = timedelta(days=rule.cooldown_days)
    return not rule.cooldown_days or all(abs(at - t) >= cooldown for t in earned)


def choose(events: list, by_event: dict[str, list[EarningRule]], history: dict) -> list[Earning]:
    """Return the earnings of events (in time order), each one counted before the next."""
    earnings = []
    for event in events:
        for rule in by_event[event.name]:
            earned = history[event.account_id, rule.key]
            if not allowed(rule, event.ts, earned):
                continue
            earned.append(event.ts)
            key = f"event:{event.message_id}:{rule.key}"
            earnings.append(Earning(event.account_id, rule.key, rule.points, key, event.ts))
    return earnings
