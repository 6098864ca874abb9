"""ROI, measured: per play, journey and the loyalty programme, and the programme as a whole.

Every line is treated vs its own holdout (`tenure.reports.measured`): MRR kept with Welch's
95 % interval, × the expected remaining lifetime implied by the holdout's survival, minus what
the line cost. A line without enough entrants in both arms past the horizon is "not measured":
its figures are None, never an assumed percentage. The programme line sums the measured lines
(independent arms: variances add) and adds the tool's own cost for the months it has run.
Money is in reporting-currency major units.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.schemas import Money
from tenure.config import Settings
from tenure.loyalty.models import LoyaltyMovement
from tenure.loyalty.service import current_program
from tenure.messaging.models import Journey
from tenure.plays.effect import PlayEffect, play_effects
from tenure.reports import roi_cohorts
from tenure.reports.measured import (
    DAYS_PER_MONTH,
    arm_difference,
    lifetime_months,
    projected_value,
    roi,
    unmeasured_reason,
)

MEASURED, NOT_MEASURED = "measured", "not measured"
Z95 = 1.959963984540054


@dataclass
class RoiLine:
    """One line of the ROI report (money in reporting major units; None when not measured)."""

    name: str
    kind: str  # programme, play, journey, loyalty
    status: str
    treated: int
    holdout: int
    mrr_kept: float | None
    mrr_kept_ci_low: float | None
    mrr_kept_ci_high: float | None
    lifetime_months: float | None
    cost: float
    roi: float | None
    roi_ci_low: float | None
    roi_ci_high: float | None
    projected_12m: float | None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the line as JSON-ready values."""
        return asdict(self)


def measured_line(
    name: str, kind: str, counts: tuple[int, int], kept: tuple[float, float, float],
    lifetime: float | None, cost: float,
) -> RoiLine:  # fmt: skip
    """Return a measured line from MRR kept (estimate, low, high), lifetime and cost."""
    mrr, low, high = kept
    return RoiLine(
        name, kind, MEASURED, counts[0], counts[1], mrr, low, high, lifetime, cost,
        roi(mrr, lifetime, cost), roi(low, lifetime, cost), roi(high, lifetime, cost),
        projected_value(mrr, lifetime),
    )  # fmt: skip


def unmeasured_line(name: str, kind: str, counts: tuple[int, int], cost: float, reason: str):
    """Return a line with no holdout comparison yet: figures None, the reason said."""
    return RoiLine(name, kind, NOT_MEASURED, counts[0], counts[1], None, None, None, None, cost,
                   None, None, None, None, reason)  # fmt: skip


def play_line(effect: PlayEffect) -> RoiLine:
    """Return a play's ROI line from its measured effect (plays/effect.py)."""
    counts = (effect.treated, effect.holdout)
    if not effect.measured or effect.mrr_kept is None:
        reason = effect.reason or "not judged yet"
        return unmeasured_line(effect.play, "play", counts, effect.cost, reason)
    kept = (effect.mrr_kept, effect.mrr_kept_ci_low, effect.mrr_kept_ci_high)
    return measured_line(effect.play, "play", counts, kept, effect.lifetime_months, effect.cost)  # type: ignore[arg-type]


def cohort_line(
    name: str, kind: str, cohort: roi_cohorts.Cohort, horizon: int, cost: float, money: Money
) -> RoiLine:
    """Return a journey's or the loyalty programme's line from its entrants' outcomes."""
    counts = (len(cohort.treated), len(cohort.holdout))
    diff = arm_difference(cohort.treated, cohort.holdout)
    if diff is None:
        reason = unmeasured_reason(cohort.treated, cohort.holdout)
        return unmeasured_line(name, kind, counts, cost, f"{reason} {horizon} days after entry")
    base = money.major(cohort.base_mrr_minor)
    lifetime = lifetime_months(float(cohort.retained_holdout.mean()), horizon)
    kept = (diff.estimate * base, diff.ci_low * base, diff.ci_high * base)
    return measured_line(name, kind, counts, kept, lifetime, cost)


def journey_lines(session: Session, settings: Settings, money: Money, today: date) -> list:
    """Return one line per journey: kept MRR of entrants vs the journey's holdout."""
    horizon = settings.roi_horizon_days
    lines = []
    for journey in session.scalars(sa.select(Journey).order_by(Journey.key)):
        entries = roi_cohorts.journey_entries(session, journey)
        cohort = roi_cohorts.cohort_outcomes(session, money, entries, horizon, today)
        cost = roi_cohorts.journey_emails_sent(session, journey) * settings.roi_email_cost
        lines.append(cohort_line(f"journey:{journey.key}", "journey", cohort, horizon,
                                 round(cost, money.digits), money))  # fmt: skip
    return lines


def rewards_cost(session: Session, money: Money) -> float:
    """Return the redeemed points at the programme's point value, in reporting major units."""
    program = current_program(session)
    if program is None:
        return 0.0
    redeemed = -int(session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LoyaltyMovement.points), 0))
        .where(LoyaltyMovement.kind == "redeem")
    ) or 0)  # fmt: skip
    minor = redeemed * program.point_value_minor
    rate = money.rates.get(program.currency, Decimal(1)) / money.rates.get(money.currency, 1)
    return money.major(minor * float(rate))


def loyalty_line(session: Session, settings: Settings, money: Money, today: date) -> list:
    """Return the loyalty programme's line (none when nobody was ever enrolled)."""
    entries = roi_cohorts.loyalty_entries(session)
    if not entries:
        return []
    horizon = settings.roi_horizon_days
    cohort = roi_cohorts.cohort_outcomes(session, money, entries, horizon, today)
    cost = rewards_cost(session, money)
    return [cohort_line("loyalty", "loyalty", cohort, horizon, cost, money)]


def months_running(session: Session, today: date) -> float:
    """Return how many months the programme has run (at least one once it has started)."""
    start = roi_cohorts.programme_start(session)
    return 0.0 if start is None else max(1.0, (today - start).days / DAYS_PER_MONTH)


def programme_line(lines: list[RoiLine], tool_cost: float) -> RoiLine:
    """Return the whole programme: measured lines summed (variances add) plus the tool's cost."""
    measured = [line for line in lines if line.status == MEASURED]
    cost = sum(line.cost for line in lines) + tool_cost
    counts = (sum(line.treated for line in lines), sum(line.holdout for line in lines))
    if not measured:
        return unmeasured_line("programme", "programme", counts, cost, "no line is measured")
    mrr = sum(line.mrr_kept or 0.0 for line in measured)
    se = math.sqrt(sum(((line.mrr_kept_ci_high or 0) - (line.mrr_kept_ci_low or 0)) ** 2
                       for line in measured)) / (2 * Z95)  # fmt: skip
    value = sum((line.mrr_kept or 0) * (line.lifetime_months or 0) for line in measured)
    value_se = math.sqrt(sum(
        (((line.mrr_kept_ci_high or 0) - (line.mrr_kept_ci_low or 0)) / (2 * Z95)
         * (line.lifetime_months or 0)) ** 2 for line in measured
    ))  # fmt: skip
    lifetime = value / mrr if mrr else None
    low, high = value - Z95 * value_se, value + Z95 * value_se
    projected = sum(line.projected_12m or 0.0 for line in measured)
    return RoiLine(
        "programme", "programme", MEASURED, counts[0], counts[1], mrr, mrr - Z95 * se,
        mrr + Z95 * se, lifetime, cost, roi(value, 1.0, cost), roi(low, 1.0, cost),
        roi(high, 1.0, cost), projected,
    )  # fmt: skip


def roi_lines(session: Session, settings: Settings, today: date) -> list[RoiLine]:
    """Return the programme line first, then each play, journey and the loyalty programme."""
    money = Money.from_settings(settings)
    lines = [play_line(e) for e in play_effects(session, money)]
    lines += journey_lines(session, settings, money, today)
    lines += loyalty_line(session, settings, money, today)
    tool_cost = round(settings.roi_tool_monthly_cost * months_running(session, today), 2)
    return [programme_line(lines, tool_cost), *lines]
