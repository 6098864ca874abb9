"""The pipeline's loyalty stage: enrol, earn from events and facts, expire, tiers, badges.

Skipped (with a note) until a programme is loaded. The days from the one after the last earned
one (`loyalty_program.earned_through`; the first run earns from the programme's `starts_on`,
else only the as-of day) to the as-of day are earned as one window: the event rules in one
set-based pass (`event_earning.window_earnings`) posted in bulk, the fact rules day by day.
Posting is idempotent on source keys, so a failed run replays the window and posts only what
is missing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Invoice
from tenure.accounts.schemas import Money
from tenure.db.session import session_scope
from tenure.loyalty.bulk_posting import post_earning_table
from tenure.loyalty.contact_earning import contact_window_earnings, post_contact_table
from tenure.loyalty.contact_wallets import expire_contact_points
from tenure.loyalty.corrections import claw_back_refunds, expire_points
from tenure.loyalty.earning import account_facts, rule_history
from tenure.loyalty.engagement_store import refresh_engagement
from tenure.loyalty.event_earning import window_earnings
from tenure.loyalty.ledger import Earning, post_earnings
from tenure.loyalty.membership import enrol_accounts
from tenure.loyalty.models import LoyaltyEnrolment
from tenure.loyalty.program import EarningRule, Program
from tenure.loyalty.realtime import drop_conflicts
from tenure.loyalty.service import current_program, latest_program_row
from tenure.loyalty.tiers import award_badges, review_tiers
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog

MAX_CATCH_UP_DAYS = 400


def members_of(session: Session) -> list[int]:
    """Return the ids of the programme's member accounts."""
    query = sa.select(LoyaltyEnrolment.account_id).where(LoyaltyEnrolment.arm == "member")
    return list(session.scalars(query.order_by(LoyaltyEnrolment.account_id)))


def fact_earnings(
    session: Session, program: Program, members: list[int], day: date
) -> list[Earning]:
    """Return the day's fact earnings: members whose fact reached a rule's level."""
    rules = [r for r in program.rules if r.fact is not None]
    if not rules or not members:
        return []
    columns = rule_history(session, [r.key for r in rules], day + timedelta(days=1))
    history = {(a, r): (n, last) for a, r, n, last in
               zip(columns["account_id"], columns["rule"], columns["n_total"], columns["last_at"],
                   strict=True)}  # fmt: skip
    at = datetime.combine(day, time(), tzinfo=UTC)
    found = []
    for rule in rules:
        if rule.fact == "paid_invoice":
            found += invoice_earnings(session, rule, members, day, history)
            continue
        for account_id, value in account_facts(session, rule.fact or "", members, day).items():
            n, last = history.get((account_id, rule.key), (0, None))
            if value < (rule.at_least or 0) or (rule.lifetime_cap and n >= rule.lifetime_cap):
                continue
            if last is not None and last + timedelta(days=rule.cooldown_days) > at:
                continue
            key = f"fact:{rule.key}:{account_id}" + ("" if rule.first_time_only else f":{day}")
            found.append(Earning(account_id, rule.key, rule.points, key, at))
    return found


def invoice_earnings(
    session: Session, rule: EarningRule, members: list[int], day: date, history: dict
) -> list[Earning]:
    """Return earnings for member invoices paid on day of at least `at_least` minor units."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    query = sa.select(Invoice.account_id, Invoice.external_id, Invoice.paid_at).where(
        Invoice.status == "paid",
        Invoice.paid_at >= start,
        Invoice.paid_at < start + timedelta(days=1),
        Invoice.amount >= (rule.at_least or 0),
    )
    wanted, counts, found = set(members), {}, []
    for account_id, external_id, paid_at in session.execute(query.order_by(Invoice.paid_at)):
        n = counts.setdefault(account_id, history.get((account_id, rule.key), (0, None))[0])
        if account_id not in wanted or (rule.lifetime_cap and n >= rule.lifetime_cap):
            continue
        counts[account_id] = n + 1
        key = f"invoice:{external_id}:{rule.key}"
        found.append(Earning(account_id, rule.key, rule.points, key, paid_at))
    return found


def days_to_earn(earned_through: date | None, program: Program, as_of: date) -> list[date]:
    """Return the days still to earn, oldest first (at most MAX_CATCH_UP_DAYS)."""
    first = earned_through + timedelta(days=1) if earned_through else (program.starts_on or as_of)
    first = max(first, as_of - timedelta(days=MAX_CATCH_UP_DAYS - 1))
    return [first + timedelta(days=i) for i in range((as_of - first).days + 1)]


def earn_days(context: StageContext, con: Any, program: Program, days: list[date]) -> int:
    """Post the window's earnings and move the earned-through mark; return how many posted."""
    if not days:
        return 0
    with session_scope(context.engine) as session:
        members = members_of(session)
        table = window_earnings(con, session, program, members, days[0], days[-1])
        table = drop_conflicts(con, session, program, table, days[0], days[-1])
        posted = post_earning_table(session, table, program.expiry_months, "pipeline")
        posted += earn_contact_days(con, session, program, members, days)
        if any(r.fact is not None for r in program.rules):
            for day in days:
                found = fact_earnings(session, program, members, day)
                posted += post_earnings(session, found, program.expiry_months)
        row = latest_program_row(session)
        if row is not None and (row.earned_through is None or row.earned_through < days[-1]):
            row.earned_through = days[-1]
    return posted


def enrolment_time(as_of: date) -> datetime:
    """Return when the run for as_of enrols: now, or the start of as_of for a backfilled day."""
    now = clock.now()
    return now if as_of >= now.date() else datetime.combine(as_of, time(), tzinfo=UTC)


def earn_contact_days(
    con: Any, session: Session, program: Program, members: list[int], days: list[date]
) -> int:
    """Post the window's contact-wallet earnings (rules awarding contacts); return how many."""
    table, owners = contact_window_earnings(con, session, program, members, days[0], days[-1])
    table = drop_conflicts(con, session, program, table, days[0], days[-1], contacts=True)
    return post_contact_table(session, table, owners)


@stage(
    "loyalty",
    reads=(catalog.LOYALTY_PROGRAMS, catalog.ACCOUNTS, catalog.SUBSCRIPTIONS, catalog.INVOICES,
           catalog.HEALTH_SCORES, catalog.WAREHOUSE_EVENTS),
    writes=(catalog.LOYALTY_ENROLMENTS, catalog.LOYALTY_LEDGER, catalog.LOYALTY_BADGES,
            catalog.LOYALTY_ENGAGEMENT),
)  # fmt: skip
def loyalty_points(context: StageContext) -> StageSummary:
    """Enrol, post the days' earnings, count streaks and challenges, expire, tiers, badges."""
    from tenure.warehouse.connection import open_warehouse

    with session_scope(context.engine) as session:
        program = current_program(session)
        if program is None:
            return {"skipped": "no loyalty programme loaded (tenure loyalty program load)"}
        at = enrolment_time(context.as_of)
        enrolled = enrol_accounts(session, program, context.settings, at)
        row = latest_program_row(session)
        days = days_to_earn(row.earned_through if row else None, program, context.as_of)
    with open_warehouse(context.settings, read_only=True) as warehouse:
        posted = earn_days(context, warehouse.con, program, days)
        with session_scope(context.engine) as session:
            members = members_of(session)
            engaged = refresh_engagement(session, warehouse.con, program, members, context.as_of)
    with session_scope(context.engine) as session:
        refunds = claw_back_refunds(session)
        expired = expire_points(session, context.as_of)
        expired |= expire_contact_points(session, context.as_of, program.expiry_months)
        tiers = review_tiers(session, program, context.as_of, Money.from_settings(context.settings))
        badges = award_badges(session, program, context.as_of)
    return {"enrolled": enrolled, "days": len(days), "earnings": posted, "expired": expired,
            "refunds": refunds, **engaged, **tiers, "badges": badges}  # fmt: skip
