"""The persistent global holdout: the accounts no experiment, play or message ever touches.

Plays and messaging call `in_global_holdout` (one account) or `split_global_holdout` (a list)
before they act. Membership depends only on the account's external id and the
`holdout_fraction` setting, so it is stable across runs, machines and re-imports; raising the
fraction only adds accounts to the holdout.
"""

from __future__ import annotations

from collections.abc import Iterable

from tenure.config import Settings
from tenure.experiments.assignment import in_holdout


def in_global_holdout(account_external_id: str, settings: Settings) -> bool:
    """Return whether the account (by its CRM external id) is in the global holdout."""
    return in_holdout(account_external_id, settings.holdout_fraction)


def split_global_holdout(
    account_external_ids: Iterable[str], settings: Settings
) -> tuple[list[str], list[str]]:
    """Return (treatable, held out) of the given accounts, each in the given order."""
    treatable: list[str] = []
    held_out: list[str] = []
    for external_id in account_external_ids:
        (held_out if in_global_holdout(external_id, settings) else treatable).append(external_id)
    return treatable, held_out
