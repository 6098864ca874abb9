"""A journey's results: per step and arm (treated, holdout) the funnel, and the goal-rate lift.

The goal-rate difference (treated − holdout) uses the experiments engine's statistics: the
binary moments, the Welch interval of the absolute difference, and the pooled two-proportion
z-test's p-value.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.experiments.stats.frequentist import lift, t_test, two_proportion_z_test
from tenure.experiments.stats.moments import binary_moments
from tenure.messaging.journeys_store import spec_of
from tenure.messaging.models import (
    ContactConsent,
    Journey,
    JourneyEnrollment,
    JourneyStepRun,
    Message,
)

ARMS = ("treated", "holdout")
FUNNEL = (
    "entered", "sent", "delivered", "opened", "clicked", "goal_reached", "exited", "unsubscribed",
)  # fmt: skip
MIN_OUTCOMES = 5  # as the experiments engine: fewer successes or failures gives no interval


def _zeros() -> dict[str, int]:
    return dict.fromkeys(FUNNEL, 0)


def _step_counts(session: Session, journey: Journey) -> dict[tuple[str, str], dict[str, int]]:
    """Return {(step, arm): entered, goal_reached, exited, unsubscribed} from step runs."""
    E, R = JourneyEnrollment, JourneyStepRun
    unsubscribed = (
        sa.select(ContactConsent.id)
        .where(
            ContactConsent.contact_id == E.contact_id,
            ContactConsent.channel == "email",
            ContactConsent.granted.is_(False),
            ContactConsent.at >= R.at,
        )
        .exists()
    )
    query = (
        sa.select(
            R.step_id, E.arm, sa.func.count(),
            sa.func.sum(sa.case((E.status == "goal", 1), else_=0)),
            sa.func.sum(sa.case((E.status == "exited", 1), else_=0)),
            sa.func.sum(sa.case((unsubscribed, 1), else_=0)),
        )
        .join(E, E.id == R.enrollment_id)
        .where(E.journey_id == journey.id)
        .group_by(R.step_id, E.arm)
    )  # fmt: skip
    found: dict[tuple[str, str], dict[str, int]] = {}
    for step, arm, entered, goal, exited, unsub in session.execute(query):
        found[(step, arm)] = {
            "entered": entered, "goal_reached": int(goal or 0), "exited": int(exited or 0),
            "unsubscribed": int(unsub or 0),
        }  # fmt: skip
    return found


def _message_counts(session: Session, journey: Journey) -> dict[tuple[str, str, str | None], dict]:
    """Return {(step, arm, variant): sent, delivered, opened, clicked} of the journey's emails."""
    E, M = JourneyEnrollment, Message
    query = (
        sa.select(
            M.step_id, E.arm, M.variant, sa.func.count(),
            sa.func.sum(sa.case((M.status == "sent", 1), else_=0)),
            sa.func.sum(sa.case((M.first_opened_at.is_not(None), 1), else_=0)),
            sa.func.sum(sa.case((M.first_clicked_at.is_not(None), 1), else_=0)),
        )
        .join(E, E.id == M.enrollment_id)
        .where(M.journey_id == journey.id, M.status != "suppressed")
        .group_by(M.step_id, E.arm, M.variant)
    )  # fmt: skip
    return {
        (step, arm, variant): {
            "sent": sent,
            "delivered": int(delivered or 0),
            "opened": int(opened or 0),
            "clicked": int(clicked or 0),
        }
        for step, arm, variant, sent, delivered, opened, clicked in session.execute(query)
    }


def step_results(session: Session, journey: Journey) -> list[dict[str, Any]]:
    """Return each step's funnel for treated and holdout, with the treated A/B variants."""
    steps = _step_counts(session, journey)
    sends = _message_counts(session, journey)
    rows = []
    for step in spec_of(journey).steps:
        arms = {arm: _zeros() | steps.get((step.id, arm), {}) for arm in ARMS}
        variants: dict[str, dict[str, int]] = {}
        for (step_id, arm, variant), counts in sends.items():
            if step_id != step.id:
                continue
            for name, value in counts.items():
                arms[arm][name] += value
            if variant is not None and arm == "treated":
                variants[variant] = counts
        rows.append({"step": step.id, "kind": step.kind, **arms, "variants": variants})
    return rows


def arm_totals(session: Session, journey: Journey) -> dict[str, dict[str, int]]:
    """Return enrollments per arm by status (entered, active, completed, goal, exited)."""
    query = (
        sa.select(JourneyEnrollment.arm, JourneyEnrollment.status, sa.func.count())
        .where(JourneyEnrollment.journey_id == journey.id)
        .group_by(JourneyEnrollment.arm, JourneyEnrollment.status)
    )

    def zero() -> dict[str, int]:
        return {"entered": 0, "active": 0, "completed": 0, "goal": 0, "exited": 0}

    totals = {arm: zero() for arm in ARMS}
    for arm, status, count in session.execute(query):
        counts = totals.setdefault(arm, zero())
        counts[status] = counts.get(status, 0) + count
        counts["entered"] += count
    return dict(totals)


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def goal_comparison(treated: tuple[int, int], holdout: tuple[int, int]) -> dict[str, Any]:
    """Return both goal rates and treated − holdout with a 95 % interval and p-value.

    Arguments are (goals, entered) per arm. Below 5 goals or 5 non-goals in an arm, only the
    rates are given (the normal approximation does not hold), as the experiments engine does.
    """
    (gt, nt), (gh, nh) = treated, holdout
    result: dict[str, Any] = {
        "treated_rate": gt / nt if nt else None,
        "holdout_rate": gh / nh if nh else None,
        "difference": None, "ci_low": None, "ci_high": None, "p_value": None,
    }  # fmt: skip
    if nt and nh:
        result["difference"] = gt / nt - gh / nh
    enough = all(MIN_OUTCOMES <= g <= n - MIN_OUTCOMES for g, n in (treated, holdout))
    if not enough:
        return result
    estimate = lift(binary_moments(nh, gh), binary_moments(nt, gt), relative=False)
    test = t_test(estimate)
    _, p_value = two_proportion_z_test(gh, nh, gt, nt)
    result.update(
        ci_low=_finite(test.ci_low), ci_high=_finite(test.ci_high), p_value=_finite(p_value)
    )
    return result


def journey_results(session: Session, journey: Journey) -> dict[str, Any]:
    """Return a journey's description, arm totals, goal comparison and per-step funnel."""
    totals = arm_totals(session, journey)
    definition = spec_of(journey)
    treated, holdout = totals["treated"], totals["holdout"]
    return {
        "key": journey.key,
        "name": journey.name,
        "status": journey.status,
        "version": journey.version,
        "holdout_fraction": journey.holdout_fraction,
        "trigger": definition.trigger.model_dump(mode="json"),
        "goals": [g.model_dump(mode="json") for g in definition.goals],
        "arms": totals,
        "goal": goal_comparison(
            (treated["goal"], treated["entered"]), (holdout["goal"], holdout["entered"])
        ),
        "steps": step_results(session, journey),
    }


def journey_summary(session: Session, journey: Journey) -> dict[str, Any]:
    """Return one line of the journeys list: status, trigger, entrants and goal rates."""
    totals = arm_totals(session, journey)
    definition = spec_of(journey)
    sent = session.scalar(
        sa.select(sa.func.count())
        .select_from(Message)
        .where(Message.journey_id == journey.id, Message.status != "suppressed")
    )
    goal = goal_comparison(
        (totals["treated"]["goal"], totals["treated"]["entered"]),
        (totals["holdout"]["goal"], totals["holdout"]["entered"]),
    )
    return {
        "key": journey.key, "name": journey.name, "status": journey.status,
        "version": journey.version, "trigger": definition.trigger.kind,
        "steps": len(definition.steps), "holdout_fraction": journey.holdout_fraction,
        "entered": totals["treated"]["entered"] + totals["holdout"]["entered"],
        "active": totals["treated"]["active"] + totals["holdout"]["active"],
        "sent": sent or 0, "treated_goal_rate": goal["treated_rate"],
        "holdout_goal_rate": goal["holdout_rate"],
    }  # fmt: skip
