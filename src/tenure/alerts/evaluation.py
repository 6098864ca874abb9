"""Which accounts trip each alert rule as of a day, computed in bulk with a few SQL queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.orm import Session, aliased

from tenure.accounts.models import Account, Invoice, Subscription, SurveyResponse, Ticket
from tenure.accounts.mrr import in_force
from tenure.alerts.models import AlertRule
from tenure.alerts.overdue import overdue_task
from tenure.alerts.rules import KINDS, check_params
from tenure.alerts.schemas import RulesOutcome, Trigger
from tenure.churn.models import ChurnScore
from tenure.errors import InputError
from tenure.health.models import HealthScore
from tenure.logging import get_logger

log = get_logger(__name__)

# Rule evaluation failures in this process, shown at /metrics next to the app's counters.
RULE_METRICS = CollectorRegistry(auto_describe=True)
RULE_FAILURES = Counter(
    "tenure_alert_rule_failures",
    "Alert rules whose evaluation failed (the other rules still ran), by rule",
    ["rule"],
    registry=RULE_METRICS,
)


def day_end(day: date) -> datetime:
    """Return the first instant after day (UTC): data before it is known as of day."""
    return datetime.combine(day + timedelta(days=1), time(0), UTC)


def active_account_ids(session: Session, day: date) -> set[int]:
    """Return accounts with a subscription in force at the end of day."""
    end = day_end(day)
    query = sa.select(Subscription.account_id).where(
        in_force(Subscription.started_at, Subscription.ended_at, end)
    )
    return set(session.scalars(query.distinct()))


def tier_change(session: Session, day: date, params: dict[str, Any], _: Any) -> list[Trigger]:
    """Accounts whose tier is `to` today and was another tier on their previous scored day."""
    today, before = aliased(HealthScore), aliased(HealthScore)
    previous_day = (
        sa.select(HealthScore.account_id, sa.func.max(HealthScore.as_of).label("as_of"))
        .where(HealthScore.as_of < day, HealthScore.as_of >= day - timedelta(days=30))
        .group_by(HealthScore.account_id)
        .subquery()
    )
    query = (
        sa.select(today.account_id, today.score, before.tier)
        .join(previous_day, previous_day.c.account_id == today.account_id)
        .join(
            before,
            sa.and_(before.account_id == today.account_id, before.as_of == previous_day.c.as_of),
        )
        .where(today.as_of == day, today.tier == params["to"], before.tier != params["to"])
    )
    return [
        Trigger(
            account_id,
            f"health tier changed from {old} to {params['to']} (score {score:.0f})",
            {"from": old, "to": params["to"], "score": round(score, 1)},
        )
        for account_id, score, old in session.execute(query)
    ]


def score_drop(session: Session, day: date, params: dict[str, Any], _: Any) -> list[Trigger]:
    """Accounts whose score today is `points` or more below their best of the last `days` days."""
    today, earlier = aliased(HealthScore), aliased(HealthScore)
    best = sa.func.max(earlier.score)
    query = (
        sa.select(today.account_id, today.score, best)
        .join(earlier, earlier.account_id == today.account_id)
        .where(
            today.as_of == day,
            earlier.as_of < day,
            earlier.as_of >= day - timedelta(days=params["days"]),
        )
        .group_by(today.account_id, today.score)
        .having(best - today.score >= params["points"])
    )
    return [
        Trigger(
            account_id,
            f"health score fell {top - score:.0f} points in {params['days']} days "
            f"(from {top:.0f} to {score:.0f})",
            {
                "score": round(score, 1),
                "previous_best": round(top, 1),
                "drop": round(top - score, 1),
                "days": params["days"],
            },
        )
        for account_id, score, top in session.execute(query)
    ]


def churn_probability(session: Session, day: date, params: dict[str, Any], _: Any) -> list[Trigger]:
    """Accounts whose latest churn probability (at most `max_age_days` old) is high enough."""
    latest = (
        sa.select(ChurnScore.account_id, sa.func.max(ChurnScore.as_of).label("as_of"))
        .where(
            ChurnScore.as_of <= day,
            ChurnScore.as_of >= day - timedelta(days=params["max_age_days"]),
        )
        .group_by(ChurnScore.account_id)
        .subquery()
    )
    query = (
        sa.select(ChurnScore)
        .join(
            latest,
            sa.and_(
                latest.c.account_id == ChurnScore.account_id, latest.c.as_of == ChurnScore.as_of
            ),
        )
        .where(ChurnScore.probability >= params["min_probability"])
    )
    triggers = []
    for score in session.scalars(query):
        reason = score.reasons[0]["text"] if score.reasons else None
        text = f"churn probability {score.probability:.0%} within {score.horizon_days} days"
        triggers.append(
            Trigger(
                score.account_id,
                text + (f"; top reason: {reason}" if reason else ""),
                {
                    "probability": round(score.probability, 4),
                    "model_version": score.model_version,
                    "top_reason": reason,
                },
            )
        )
    return triggers


def no_login(
    session: Session, day: date, params: dict[str, Any], last_logins: dict[int, datetime] | None
) -> list[Trigger]:
    """Active accounts (older than `days` days) where nobody logged in for `days` days."""
    if not last_logins:
        return []  # no login data at all: say nothing rather than alert every account
    cutoff = day_end(day) - timedelta(days=params["days"])
    query = sa.select(Account.id, Account.created_at).where(Account.created_at < cutoff)
    triggers = []
    for account_id, created in session.execute(query):
        last = last_logins.get(account_id)
        if last is None or last < cutoff:
            seen = f"last login {last:%Y-%m-%d}" if last else "no login on record"
            triggers.append(
                Trigger(
                    account_id,
                    f"no login for {params['days']}+ days ({seen})",
                    {"last_login": last.isoformat() if last else None, "days": params["days"]},
                    started_at=(last or created) + timedelta(days=params["days"]),
                )
            )
    return triggers


def failed_payment(session: Session, day: date, params: dict[str, Any], _: Any) -> list[Trigger]:
    """Accounts with a failed invoice issued within the last `days` days."""
    end = day_end(day)
    query = (
        sa.select(
            Invoice.account_id,
            sa.func.count(),
            sa.func.sum(Invoice.amount),
            sa.func.min(Invoice.currency),
            sa.func.max(Invoice.issued_at),
        )
        .where(
            Invoice.status == "failed",
            Invoice.issued_at < end,
            Invoice.issued_at >= end - timedelta(days=params["days"]),
        )
        .group_by(Invoice.account_id)
    )
    return [
        Trigger(
            account_id,
            f"{count} failed payment{'s' if count > 1 else ''} in the last "
            f"{params['days']} days ({amount / 100:,.2f} {currency})",
            {"failed_invoices": count, "amount_minor": int(amount), "currency": currency},
            started_at=last,  # the newest failure: an older one alone is backlog
        )
        for account_id, count, amount, currency, last in session.execute(query)
    ]


def ticket_spike(session: Session, day: date, params: dict[str, Any], _: Any) -> list[Trigger]:
    """Accounts with `min_tickets`+ recent tickets and `ratio` × their usual rate."""
    end = day_end(day)
    recent_start = end - timedelta(days=params["days"])
    base_start = recent_start - timedelta(days=params["baseline_days"])
    recent = sa.func.sum(sa.case((Ticket.opened_at >= recent_start, 1), else_=0))
    baseline = sa.func.sum(sa.case((Ticket.opened_at < recent_start, 1), else_=0))
    query = (
        sa.select(Ticket.account_id, recent, baseline)
        .where(Ticket.opened_at < end, Ticket.opened_at >= base_start)
        .group_by(Ticket.account_id)
        .having(recent >= params["min_tickets"])
    )
    triggers = []
    for account_id, count, base in session.execute(query):
        expected = (base or 0) * params["days"] / max(params["baseline_days"], 1)
        if count >= params["ratio"] * expected:
            triggers.append(
                Trigger(
                    account_id,
                    f"{count} tickets in {params['days']} days (usually {expected:.1f})",
                    {"tickets": int(count), "expected": round(expected, 2), "days": params["days"]},
                )
            )
    return triggers


def nps_detractor(session: Session, day: date, params: dict[str, Any], _: Any) -> list[Trigger]:
    """Accounts with an NPS answer of `max_score` or less in the last `days` days."""
    end = day_end(day)
    query = (
        sa.select(SurveyResponse)
        .where(
            sa.func.lower(SurveyResponse.kind) == "nps",
            SurveyResponse.score <= params["max_score"],
            SurveyResponse.responded_at < end,
            SurveyResponse.responded_at >= end - timedelta(days=params["days"]),
        )
        .order_by(SurveyResponse.account_id, SurveyResponse.score)
    )
    lowest: dict[int, SurveyResponse] = {}
    newest: dict[int, datetime] = {}
    for response in session.scalars(query):
        lowest.setdefault(response.account_id, response)
        newest[response.account_id] = max(
            response.responded_at, newest.get(response.account_id, response.responded_at)
        )
    return [
        Trigger(
            account_id,
            f"NPS detractor: scored {r.score}/10"
            + (f" — “{r.comment[:140]}”" if r.comment else ""),
            {"nps": r.score, "responded_at": r.responded_at.isoformat()},
            started_at=newest[account_id],
        )
        for account_id, r in lowest.items()
    ]


def next_anniversary(started: date, day: date) -> date:
    """Return the first anniversary of started on or after day (29 Feb → 28 Feb)."""
    for year in range(max(day.year, started.year), day.year + 2):
        try:
            candidate = started.replace(year=year)
        except ValueError:
            candidate = date(year, 2, 28)
        if candidate >= day and candidate > started:
            return candidate
    return date(day.year + 1, started.month, min(started.day, 28))


def renewals_within(session: Session, day: date, days: int) -> dict[int, date]:
    """Return account id -> its next annual renewal, for renewals at most `days` days away."""
    subscriptions = sa.select(Subscription.account_id, Subscription.started_at).where(
        Subscription.billing_interval == "year",
        in_force(Subscription.started_at, Subscription.ended_at, day_end(day)),
    )
    due: dict[int, date] = {}
    for account_id, started in session.execute(subscriptions):
        renews = next_anniversary(started.date(), day)
        if (renews - day).days <= days:
            due[account_id] = min(renews, due.get(account_id, renews))
    return due


def renewal(session: Session, day: date, params: dict[str, Any], _: Any) -> list[Trigger]:
    """Accounts with an annual renewal within `days` days whose latest tier is not healthy."""
    due = renewals_within(session, day, params["days"])
    tiers = _latest_tiers(session, day, list(due))
    return [
        Trigger(
            account_id,
            f"annual renewal on {renews} ({(renews - day).days} days) "
            f"while health is {tiers[account_id]}",
            {"renewal_date": renews.isoformat(), "tier": tiers[account_id]},
        )
        for account_id, renews in sorted(due.items())
        if account_id in tiers and tiers[account_id] != params["healthy_tier"]
    ]


def _latest_tiers(session: Session, day: date, account_ids: list[int]) -> dict[int, str]:
    tiers: dict[int, str] = {}
    for start in range(0, len(account_ids), 500):
        chunk = account_ids[start : start + 500]
        query = (
            sa.select(HealthScore.account_id, HealthScore.tier)
            .where(
                HealthScore.account_id.in_(chunk),
                HealthScore.as_of <= day,
                HealthScore.as_of >= day - timedelta(days=7),
            )
            .order_by(HealthScore.account_id, HealthScore.as_of)
        )
        tiers.update((account_id, tier) for account_id, tier in session.execute(query))
    return tiers


Evaluator = Callable[[Session, date, dict[str, Any], Any], list[Trigger]]
EVALUATORS: dict[str, Evaluator] = {
    "tier_change": tier_change,
    "score_drop": score_drop,
    "churn_probability": churn_probability,
    "no_login": no_login,
    "failed_payment": failed_payment,
    "ticket_spike": ticket_spike,
    "nps_detractor": nps_detractor,
    "renewal": renewal,
    "overdue_task": overdue_task,
}


def evaluate_rule(
    session: Session, rule: AlertRule, day: date, *, active: set[int], last_logins: Any = None
) -> list[Trigger]:
    """Return the triggers of one rule as of day, for active accounts only."""
    triggers = EVALUATORS[rule.kind](session, day, stored_params(rule), last_logins)
    return [t for t in triggers if t.account_id in active]


def stored_params(rule: AlertRule) -> dict[str, Any]:
    """Return a stored rule's params checked as a save checks them (older rows may be out of range)."""
    if rule.kind not in KINDS:
        raise InputError(f"alert rule {rule.name!r}: unknown kind {rule.kind!r}")
    return check_params(rule.kind, rule.params, f"alert rule {rule.name!r}")


# What one bad rule can raise: bad stored params, dates out of range, odd values in its data.
RULE_ERRORS = (InputError, ArithmeticError, ValueError, TypeError, LookupError)


def split_backlog(triggers: list[Trigger], before: datetime | None) -> tuple[list, list]:
    """Split triggers into (current, backlog): backlog conditions started before `before`."""
    if before is None:
        return triggers, []
    current = [t for t in triggers if t.started_at is None or t.started_at >= before]
    backlog = [t for t in triggers if t.started_at is not None and t.started_at < before]
    return current, backlog


def backlog_before(rule: AlertRule, day: date, first_run_days: int | None) -> datetime | None:
    """Return where the rule's backlog ends: stored, or on its first run `first_run_days` back."""
    if rule.backlog_before is not None or first_run_days is None:
        return rule.backlog_before
    return day_end(day) - timedelta(days=first_run_days)


def evaluate_rules(
    session: Session,
    rules: Sequence[AlertRule],
    day: date,
    *,
    active: set[int],
    last_logins: Any = None,
    first_run_days: int | None = None,
) -> RulesOutcome:
    """Evaluate each rule as of day; a rule that fails is logged and counted, the others run.

    Conditions that started before a rule's backlog_before are skipped and counted; a rule not
    evaluated before gets its backlog_before set `first_run_days` before the end of day."""
    outcome = RulesOutcome()
    for rule in rules:
        try:
            triggers = evaluate_rule(session, rule, day, active=active, last_logins=last_logins)
        except RULE_ERRORS as exc:
            record_failure(rule.name, exc)
            outcome.failed[rule.name] = str(exc)
            continue
        rule.backlog_before = backlog_before(rule, day, first_run_days)
        outcome.triggers[rule.name], backlog = split_backlog(triggers, rule.backlog_before)
        if backlog:
            outcome.backlog_skipped[rule.name] = len(backlog)
    return outcome


def record_failure(rule_name: str, exc: Exception) -> None:
    """Log a rule's failure and count it in tenure_alert_rule_failures_total."""
    log.error("alert rule failed", rule=rule_name, error=str(exc), error_type=type(exc).__name__)
    RULE_FAILURES.labels(rule=rule_name).inc()
