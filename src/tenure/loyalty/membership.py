"""Enrolment randomised against a holdout, with the experiments' deterministic hashing.

An account's arm depends only on its external id: it is held out when it is in the persistent
global holdout (`tenure.experiments.holdout`) or when its bucket under the programme's own salt
falls below the programme's `holdout_fraction`; every other account is a member with a wallet.
The arm is stored once (`loyalty_enrolment`), so a later change of fractions moves nobody.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.accounts.mrr import instant_after
from tenure.config import Settings
from tenure.errors import StateConflict
from tenure.loyalty.arms import ENROLMENT_SALT, programme_arm
from tenure.loyalty.ledger import Executor, ensure_wallets, insert_for
from tenure.loyalty.models import LoyaltyEnrolment
from tenure.loyalty.program import Program

__all__ = ["ENROLMENT_SALT", "arm_of", "enrol_accounts", "require_member"]


def arm_of(external_id: str, program: Program, settings: Settings) -> str:
    """Return 'holdout' or 'member' for an account's external id."""
    return programme_arm(external_id, program.holdout_fraction, settings.holdout_fraction)


def enrol_accounts(
    session: Session, program: Program, settings: Settings, at: datetime | None = None
) -> dict[str, int]:
    """Give every account without an arm its arm, enrolled `at` (now); return the counts.

    The pipeline passes its as-of day, so a backfilled run enrols on that day (only accounts
    created by its end: later ones are enrolled by the run of a later day) and the 90-day churn
    of its members is measured from then.
    """
    now = at or clock.now()
    query = (
        sa.select(Account.id, Account.external_id)
        .outerjoin(LoyaltyEnrolment, LoyaltyEnrolment.account_id == Account.id)
        .where(
            LoyaltyEnrolment.account_id.is_(None), Account.created_at < instant_after(now.date())
        )
    )
    rows = [
        {"account_id": i, "arm": arm_of(e, program, settings), "enrolled_at": now}
        for i, e in session.execute(query)
    ]
    if rows:
        stmt = insert_for(session, LoyaltyEnrolment.__table__)
        session.connection().execute(
            stmt.on_conflict_do_nothing(index_elements=["account_id"]), rows
        )
    ensure_wallets(session, [r["account_id"] for r in rows if r["arm"] == "member"])
    members = sum(r["arm"] == "member" for r in rows)
    return {"enrolled": len(rows), "members": members, "holdout": len(rows) - members}


def require_member(session: Executor, program: Program, settings: Settings, account: Account):
    """Enrol the account if needed; raise StateConflict if it is in the holdout.

    Works on a Session or a bare Connection; account needs only `id` and `external_id`.
    """
    arm = session.scalar(
        sa.select(LoyaltyEnrolment.arm).where(LoyaltyEnrolment.account_id == account.id)
    )
    if arm is None:
        arm = arm_of(account.external_id, program, settings)
        stmt = insert_for(session, LoyaltyEnrolment).values(
            account_id=account.id, arm=arm, enrolled_at=clock.now()
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["account_id"]))
        if arm == "member":
            ensure_wallets(session, [account.id])
    if arm != "member":
        raise StateConflict(
            f"account {account.external_id!r} is in the loyalty holdout: it earns and redeems "
            "nothing, so the programme can be measured against it"
        )
