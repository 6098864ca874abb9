"""Which arm of the loyalty programme an account falls in: pure hashing, no database.

An account is held out when it is in the persistent global holdout or when its bucket under the
programme's own salt falls below the programme's `holdout_fraction`; otherwise it is a member.
The simulator calls the same function, so its members are exactly the accounts Tenure enrols.
"""

from __future__ import annotations

from tenure.experiments.assignment import bucket, in_holdout

ENROLMENT_SALT = "tenure-loyalty-enrolment-v1"  # never change: it would reshuffle the arms


def programme_arm(external_id: str, holdout_fraction: float, global_holdout: float) -> str:
    """Return 'holdout' or 'member' for an account's external id."""
    if in_holdout(external_id, global_holdout):
        return "holdout"
    return "holdout" if bucket(ENROLMENT_SALT, external_id) < holdout_fraction else "member"
