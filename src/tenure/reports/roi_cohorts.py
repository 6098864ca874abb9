"""Who entered a journey or the loyalty programme, in which arm, and how much MRR they kept.

An entrant counts once `horizon_days` have passed since it entered: its outcome is the share of
the MRR in force on its entry day still in force `horizon_days` later (capped at 2, as plays'
`mrr_kept` goal). Accounts with no MRR in force on entry are left out: nothing could be kept.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.schemas import Money
from tenure.accounts.service import mrr_in_force
from tenure.loyalty.models import LoyaltyEnrolment
from tenure.messaging.models import Journey, JourneyEnrollment, Message
from tenure.plays.models import PlayRun

TREATED_ARMS = {"treated", "member"}


@dataclass
class Cohort:
    """Outcomes per arm of one programme's entrants that reached the horizon."""

    treated: np.ndarray
    holdout: np.ndarray
    retained_holdout: np.ndarray
    base_mrr_minor: int


def cohort_outcomes(
    session: Session, money: Money, entries: list[tuple[int, str, date]], horizon_days: int,
    today: date,
) -> Cohort:  # fmt: skip
    """Return each arm's kept-MRR shares for (account, arm, entry day) rows past the horizon."""
    by_day: dict[date, list[tuple[int, str]]] = defaultdict(list)
    for account_id, arm, day in entries:
        if day + timedelta(days=horizon_days) <= today:
            by_day[day].append((account_id, arm))
    treated: list[float] = []
    holdout: list[float] = []
    base = 0
    for day, rows in sorted(by_day.items()):
        ids = [account_id for account_id, _ in rows]
        start = mrr_in_force(db_session=session, day=day, money=money, account_ids=ids)
        end_day = day + timedelta(days=horizon_days)
        end = mrr_in_force(db_session=session, day=end_day, money=money, account_ids=ids)
        for account_id, arm in rows:
            if start.get(account_id, 0) <= 0:
                continue
            share = min(2.0, end.get(account_id, 0) / start[account_id])
            if arm in TREATED_ARMS:
                treated.append(share)
                base += start[account_id]
            else:
                holdout.append(share)
    kept = np.array(holdout, dtype=float)
    return Cohort(np.array(treated, dtype=float), kept, (kept > 0).astype(float), base)


def journey_entries(session: Session, journey: Journey) -> list[tuple[int, str, date]]:
    """Return each account's first entry into the journey: (account, arm, day)."""
    E = JourneyEnrollment
    query = (
        sa.select(E.account_id, E.arm, sa.func.min(E.entered_at))
        .where(E.journey_id == journey.id)
        .group_by(E.account_id, E.arm)
    )
    first: dict[int, tuple[str, date]] = {}
    for account_id, arm, at in session.execute(query):
        if account_id not in first or at.date() < first[account_id][1]:
            first[account_id] = (arm, at.date())
    return [(account_id, arm, day) for account_id, (arm, day) in first.items()]


def journey_emails_sent(session: Session, journey: Journey) -> int:
    """Return how many of the journey's emails were sent (the treated arm's cost driver)."""
    query = sa.select(sa.func.count()).where(
        Message.journey_id == journey.id, Message.status == "sent"
    )
    return int(session.scalar(query) or 0)


def loyalty_entries(session: Session) -> list[tuple[int, str, date]]:
    """Return every loyalty enrolment: (account, arm, day)."""
    E = LoyaltyEnrolment
    rows = session.execute(sa.select(E.account_id, E.arm, E.enrolled_at))
    return [(account_id, arm, at.date()) for account_id, arm, at in rows]


def programme_start(session: Session) -> date | None:
    """Return the day the programme started: its first play run, journey entry or enrolment."""
    firsts = [
        session.scalar(sa.select(sa.func.min(PlayRun.started_on))),
        session.scalar(sa.select(sa.func.min(LoyaltyEnrolment.enrolled_at))),
        session.scalar(sa.select(sa.func.min(JourneyEnrollment.entered_at))),
    ]
    days = [d.date() if isinstance(d, datetime) else d for d in firsts if d is not None]
    return min(days) if days else None
