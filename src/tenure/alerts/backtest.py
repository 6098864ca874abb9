"""Which alert rules are worth a person's time: each rule replayed on past days vs later churn.

For each evaluation day (every `step_days` over `days`, ending `horizon_days` before the data's
end, so every alert is judged), each rule is evaluated as the daily run would have, on accounts
with MRR in force that day; an account counts once per rule within the rule's cool-down. An
alerted account *churned* when it has no MRR in force `horizon_days` later. `precision` is the
share of alerts whose account churned, `base_rate` the share of all active accounts that churned
over the same days, `lift` their ratio, `alerts_per_csm_per_week` the alert load per account owner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.accounts.schemas import Money
from tenure.accounts.service import mrr_in_force
from tenure.alerts.evaluation import RULE_ERRORS, evaluate_rule
from tenure.alerts.models import AlertRule


@dataclass
class RuleBacktest:
    """One rule's replayed alerts and how many of their accounts churned."""

    rule: str
    kind: str
    alerts: int
    churned: int
    precision: float | None
    base_rate: float | None
    lift: float | None
    alerts_per_csm_per_week: float
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the line as JSON-ready values."""
        return asdict(self)


def evaluation_days(end: date, days: int, step_days: int, horizon_days: int) -> list[date]:
    """Return the replay days, oldest first, the newest `horizon_days` before end."""
    last = end - timedelta(days=horizon_days)
    return sorted(last - timedelta(days=k) for k in range(0, days + 1, step_days))


@dataclass
class DayOutcome:
    """Who was active on a replay day and who of them had churned by the horizon."""

    active: set[int]
    churned: set[int]


def day_outcome(session: Session, money: Money, day: date, horizon_days: int) -> DayOutcome:
    """Return the accounts with MRR in force on day and those without any at day + horizon."""
    active = {
        a for a, mrr in mrr_in_force(db_session=session, day=day, money=money).items() if mrr > 0
    }
    later = mrr_in_force(
        db_session=session,
        day=day + timedelta(days=horizon_days),
        money=money,
        account_ids=sorted(active),
    )
    return DayOutcome(active, {a for a in active if later.get(a, 0) <= 0})


def _owners(session: Session, accounts: set[int]) -> int:
    query = sa.select(sa.func.count(sa.distinct(sa.func.coalesce(Account.owner, "")))).where(
        Account.id.in_(sorted(accounts))
    )
    return max(1, session.scalar(query) or 0)


def backtest_alert_rules(
    session: Session,
    money: Money,
    *,
    end: date,
    days: int = 182,
    step_days: int = 7,
    horizon_days: int = 90,
    last_logins: Callable[[date], Any] | None = None,
) -> list[RuleBacktest]:
    """Replay every enabled rule on past days and judge its alerts against later churn."""
    rules = list(
        session.scalars(sa.select(AlertRule).where(AlertRule.enabled).order_by(AlertRule.name))
    )
    fired: dict[str, dict[int, date]] = {r.name: {} for r in rules}
    counts = {r.name: [0, 0] for r in rules}  # alerts, churned
    errors: dict[str, str] = {}
    active_total = churned_total = 0
    ever_active: set[int] = set()
    for day in evaluation_days(end, days, step_days, horizon_days):
        outcome = day_outcome(session, money, day, horizon_days)
        active_total += len(outcome.active)
        churned_total += len(outcome.churned)
        ever_active |= outcome.active
        logins = last_logins(day) if last_logins else None
        for rule in rules:
            if rule.name in errors:
                continue
            try:
                triggers = evaluate_rule(
                    session, rule, day, active=outcome.active, last_logins=logins
                )
            except RULE_ERRORS as exc:
                errors[rule.name] = str(exc)
                continue
            cooldown = timedelta(hours=rule.cooldown_hours)
            for trigger in triggers:
                previous = fired[rule.name].get(trigger.account_id)
                if previous is not None and day - previous < cooldown:
                    continue
                fired[rule.name][trigger.account_id] = day
                counts[rule.name][0] += 1
                counts[rule.name][1] += trigger.account_id in outcome.churned
    base_rate = churned_total / active_total if active_total else None
    weeks = (days + step_days) / 7
    owners = _owners(session, ever_active) if ever_active else 1
    lines = []
    for rule in rules:
        alerts, churned = counts[rule.name]
        precision = churned / alerts if alerts else None
        lift = precision / base_rate if precision is not None and base_rate else None
        lines.append(
            RuleBacktest(
                rule.name,
                rule.kind,
                alerts,
                churned,
                precision,
                base_rate,
                lift,
                alerts / owners / weeks,
                errors.get(rule.name),
            )
        )
    return lines
