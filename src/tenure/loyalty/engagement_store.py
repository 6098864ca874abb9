"""Store what the engagement queries found: streaks, challenge progress, contact scores.

The stage replaces the serving rows in batches (one DELETE and executemany INSERTs per table,
inside the caller's transaction) and posts each completed challenge's points through the
ledger, keyed `challenge:<key>:<account>` so a recount never pays twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Contact
from tenure.loyalty import engagement
from tenure.loyalty.engagement_models import (
    LoyaltyChallengeProgress,
    LoyaltyContactScore,
    LoyaltyStreak,
)
from tenure.loyalty.ledger import BATCH, Earning, post_earnings
from tenure.loyalty.program import Challenge, Program


def _insert(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows in batches of BATCH (executemany)."""
    for start in range(0, len(rows), BATCH):
        session.execute(sa.insert(model), list(rows[start : start + BATCH]))


def store_streaks(session: Session, found: list[dict[str, Any]], as_of: date) -> int:
    """Replace the streak rows with found; return how many accounts have a current streak."""
    session.execute(sa.delete(LoyaltyStreak))
    _insert(session, LoyaltyStreak, [{**row, "as_of": as_of} for row in found])
    return sum(1 for row in found if row["current_weeks"] > 0)


def challenge_earnings(challenges: list[Challenge], found: list[dict[str, Any]]) -> list[Earning]:
    """Return the points of every completed challenge that pays points."""
    points = {c.key: c.points for c in challenges}
    return [
        Earning(row["account_id"], f"challenge:{row['challenge']}"[:64], points[row["challenge"]],
                f"challenge:{row['challenge']}:{row['account_id']}",
                row["completed_at"].astimezone(UTC))
        for row in found
        if row["completed_at"] is not None and points.get(row["challenge"], 0) > 0
    ]  # fmt: skip


def store_challenges(
    session: Session, program: Program, found: list[dict[str, Any]], as_of: date
) -> dict[str, int]:
    """Replace the open challenges' progress rows; post completion points; return counts."""
    keys = [c.key for c in engagement.open_challenges(program, as_of)]
    if keys:
        table = LoyaltyChallengeProgress
        session.execute(sa.delete(table).where(table.challenge.in_(keys)))
        _insert(session, table, [{**row, "as_of": as_of} for row in found])
    earned = challenge_earnings(program.challenges, found)
    posted = post_earnings(session, earned, program.expiry_months)
    completed = sum(1 for row in found if row["completed_at"] is not None)
    return {"challenge_completions": completed, "challenge_points_posted": posted}


def store_contact_scores(session: Session, found: list[dict[str, Any]], as_of: date) -> int:
    """Replace the contact scores with found (contacts matched by external id and account)."""
    session.execute(sa.delete(LoyaltyContactScore))
    wanted = sorted({row["contact"] for row in found})
    contacts: dict[tuple[int, str], int] = {}
    for start in range(0, len(wanted), BATCH):
        query = sa.select(Contact.account_id, Contact.external_id, Contact.id).where(
            Contact.external_id.in_(wanted[start : start + BATCH])
        )
        contacts.update({(a, e): c for a, e, c in session.execute(query)})
    rows = [
        {"contact_id": contacts[(r["account_id"], r["contact"])], "account_id": r["account_id"],
         "points": r["points"], "events": r["events"], "as_of": as_of}
        for r in found
        if (r["account_id"], r["contact"]) in contacts
    ]  # fmt: skip
    _insert(session, LoyaltyContactScore, rows)
    return len(rows)


def refresh_engagement(
    session: Session, con: Any, program: Program, members: list[int], as_of: date
) -> dict[str, int]:
    """Recount streaks, open challenges and contact scores as of as_of; store them."""
    streaks = engagement.streaks(con, program, members, as_of) if members else []
    challenges = engagement.challenge_progress(
        con, engagement.open_challenges(program, as_of), members, as_of
    )
    scores = engagement.contact_scores(con, program, members, as_of)
    return {
        "streaks": store_streaks(session, streaks, as_of),
        **store_challenges(session, program, challenges, as_of),
        "contact_scores": store_contact_scores(session, scores, as_of),
    }
