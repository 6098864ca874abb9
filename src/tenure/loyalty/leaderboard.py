"""Leaderboards between the contacts of one account: opt-in only, ranked by recent points.

A contact appears only after an explicit opt-in (`loyalty_leaderboard_optin.opted_in`); no row
or an opt-out hides them. Scores are the rule points of the contact's events over the
programme's `leaderboard.window_days`, refreshed by the pipeline's loyalty stage.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Contact
from tenure.errors import NotFound
from tenure.loyalty.engagement_models import LoyaltyContactScore, LoyaltyLeaderboardOptIn
from tenure.loyalty.ledger import insert_for
from tenure.loyalty.program import Program

# What a leaderboard line says about a person (masked for readers who may not see people).
PERSON_FIELDS = ("external_id", "name")


def find_contact(session: Session, ref: str | int) -> Contact:
    """Return the contact by id or external id, or NotFound."""
    contact = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        contact = session.get(Contact, int(ref))
    if contact is None and isinstance(ref, str):
        contact = session.scalar(sa.select(Contact).where(Contact.external_id == ref))
    if contact is None:
        raise NotFound(f"no contact {ref!r}")
    return contact


def set_opt_in(session: Session, contact: Contact, opted_in: bool, actor: str | None) -> None:
    """Record the contact's leaderboard choice (the latest choice wins)."""
    values = {"contact_id": contact.id, "opted_in": opted_in, "changed_at": clock.now(),
              "changed_by": actor}  # fmt: skip
    stmt = insert_for(session, LoyaltyLeaderboardOptIn).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["contact_id"],
        set_={k: v for k, v in values.items() if k != "contact_id"},
    )
    session.execute(stmt)


def opted_in(session: Session, contact_id: int) -> bool:
    """Return whether the contact opted in to their account's leaderboard."""
    row = session.get(LoyaltyLeaderboardOptIn, contact_id)
    return bool(row and row.opted_in)


def account_leaderboard(
    session: Session, program: Program, account_id: int
) -> list[dict[str, Any]]:
    """Return the account's opted-in contacts ranked by points (ties share a rank)."""
    score, choice = LoyaltyContactScore, LoyaltyLeaderboardOptIn
    query = (
        sa.select(Contact.id, Contact.external_id, Contact.name,
                  sa.func.coalesce(score.points, 0), sa.func.coalesce(score.events, 0))
        .join(choice, (choice.contact_id == Contact.id) & choice.opted_in.is_(True))
        .outerjoin(score, score.contact_id == Contact.id)
        .where(Contact.account_id == account_id)
        .order_by(sa.func.coalesce(score.points, 0).desc(), Contact.id)
        .limit(program.leaderboard.size)
    )  # fmt: skip
    board: list[dict[str, Any]] = []
    for contact_id, external_id, name, points, events in session.execute(query):
        tied = board and board[-1]["points"] == points
        rank = board[-1]["rank"] if tied else len(board) + 1
        board.append({"rank": rank, "contact_id": contact_id, "external_id": external_id,
                      "name": name, "points": int(points), "events": int(events)})  # fmt: skip
    return board
