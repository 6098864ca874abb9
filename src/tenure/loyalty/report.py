"""Is the programme worth it: members vs holdout on 90-day churn, and the points books.

Churn: an enrolled account counts once 90 days have passed since its enrolment; it churned if
it had a subscription in force at enrolment and none 90 days later. The effect is
churn(members) − churn(holdout) with the experiments engine's Welch interval for a difference
of two proportions (`tenure.experiments.stats`): each arm has its own variance p(1 − p)/n, so
the interval is a two-sample one; an arm where nobody (or everybody) churned gives no interval,
as in `reports.measured`. A negative effect means members churn less. Liability is the points
still in wallets at the programme's point value, in minor units of the programme's currency:
the company wallets' points (`points_outstanding`) and the contact wallets'
(`contact_points_outstanding`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Subscription
from tenure.accounts.mrr import in_force, instant_after
from tenure.loyalty.contact_wallets import contact_books
from tenure.loyalty.models import LoyaltyEnrolment, LoyaltyMovement, LoyaltyWallet
from tenure.loyalty.program import Program

CHURN_DAYS = 90


def _arms(session: Session) -> dict[str, int]:
    query = sa.select(LoyaltyEnrolment.arm, sa.func.count()).group_by(LoyaltyEnrolment.arm)
    return {arm: n for arm, n in session.execute(query)}


def _points_by_kind(session: Session) -> dict[str, int]:
    query = sa.select(LoyaltyMovement.kind, sa.func.sum(LoyaltyMovement.points)).group_by(
        LoyaltyMovement.kind
    )
    return {kind: int(total or 0) for kind, total in session.execute(query)}


def _live_accounts(session: Session, ids: list[int], day: date) -> set[int]:
    """Return which of the accounts have a subscription in force on day."""
    instant = instant_after(day)
    query = sa.select(Subscription.account_id).where(
        Subscription.account_id.in_(ids),
        in_force(Subscription.started_at, Subscription.ended_at, instant),
    )
    return set(session.scalars(query.distinct()))


def churn_counts(session: Session, today: date) -> dict[str, tuple[int, int]]:
    """Return per arm (accounts live at enrolment and 90 days on, churned among them)."""
    cohorts: dict[date, list[tuple[int, str]]] = defaultdict(list)
    query = sa.select(
        LoyaltyEnrolment.account_id, LoyaltyEnrolment.arm, LoyaltyEnrolment.enrolled_at
    )
    for account_id, arm, enrolled_at in session.execute(query):
        if enrolled_at.date() + timedelta(days=CHURN_DAYS) <= today:
            cohorts[enrolled_at.date()].append((account_id, arm))
    counts = {"member": [0, 0], "holdout": [0, 0]}
    for day, rows in cohorts.items():
        ids = [account_id for account_id, _ in rows]
        live = _live_accounts(session, ids, day)
        later = _live_accounts(session, ids, day + timedelta(days=CHURN_DAYS))
        for account_id, arm in rows:
            if account_id in live:
                counts[arm][0] += 1
                counts[arm][1] += account_id not in later
    return {arm: (n, churned) for arm, (n, churned) in counts.items()}


def churn_effect(members: tuple[int, int], holdout: tuple[int, int]) -> dict[str, float | None]:
    """Return both churn rates and their difference with its 95% interval (None when n < 2)."""
    from tenure.experiments.stats.frequentist import lift, t_test
    from tenure.experiments.stats.moments import binary_moments

    (n_m, x_m), (n_h, x_h) = members, holdout
    out: dict[str, float | None] = {
        "churn_members": x_m / n_m if n_m else None,
        "churn_holdout": x_h / n_h if n_h else None,
        "effect": None, "effect_ci_low": None, "effect_ci_high": None,
    }  # fmt: skip
    if n_m < 2 or n_h < 2:
        return out
    diff = lift(binary_moments(n_h, x_h), binary_moments(n_m, x_m), relative=False)
    if x_m in (0, n_m) or x_h in (0, n_h):  # an arm without variation: its variance reads 0
        out["effect"] = float(diff.estimate)
        return out
    test = t_test(diff)
    out.update(effect=float(diff.estimate), effect_ci_low=float(test.ci_low),
               effect_ci_high=float(test.ci_high))  # fmt: skip
    return out


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def programme_report(session: Session, program: Program) -> dict[str, Any]:
    """Return the programme report (members, holdout, points books, churn effect)."""
    arms = _arms(session)
    outstanding = int(
        session.scalar(sa.select(sa.func.coalesce(sa.func.sum(LoyaltyWallet.balance), 0)))
    )
    kinds = _points_by_kind(session)
    issued = kinds.get("earn", 0) + max(kinds.get("adjust", 0), 0)
    redeemed, expired = -kinds.get("redeem", 0), -kinds.get("expire", 0)
    written_off = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LoyaltyMovement.written_off), 0))
    )
    churn = churn_counts(session, clock.now().date())
    contacts = contact_books(session)
    owed = outstanding + contacts["contact_points_outstanding"]
    return {
        "programme": program.name,
        "members": arms.get("member", 0),
        "holdout": arms.get("holdout", 0),
        "points_issued": issued,
        "points_redeemed": redeemed,
        "points_expired": expired,
        "points_written_off": int(written_off),
        "written_off": int(written_off),  # clawbacks beyond the balance (the key)
        "points_outstanding": outstanding,
        **contacts,
        "liability": round(owed * program.point_value_minor),  # company and contact wallets
        "currency": program.currency,
        "breakage_rate": _rate(expired, issued),
        "redemption_rate": _rate(redeemed, issued),
        "churn_members_n": churn["member"][0],
        "churn_holdout_n": churn["holdout"][0],
        **churn_effect(churn["member"], churn["holdout"]),
    }
