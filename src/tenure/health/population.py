"""Who health scores under the churn definition: paying accounts, active accounts, or both.

- "subscription": accounts with a subscription live at the end of D (inputs.active_accounts);
- "inactivity": accounts active on D (an event in the `inactivity_days` days up to D), paying
  ones with their MRR and seats, the others with MRR 0 and no seats;
- "auto": the paying accounts, plus the active accounts that have no subscription row started
  by the end of D (the accounts the churn model also judges by inactivity).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

import ibis
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.accounts.models import Account, Subscription
from tenure.accounts.schemas import Money
from tenure.churn.definition import INACTIVITY, SUBSCRIPTION, ChurnDefinition
from tenure.health import usage
from tenure.health.inputs import _lifecycle, active_accounts, end_of
from tenure.warehouse.catalog import EVENTS

COLUMNS = ["account_id", "created_at", "seats", "mrr", "lifecycle"]


def recently_active(con: Any, day: date, inactivity_days: int) -> list[int]:
    """Return the accounts with a warehouse event in the inactivity_days days up to day."""
    backend = ibis.duckdb.from_connection(con)
    events = usage.duckdb_events(backend, EVENTS)
    return usage.run_active(backend, events, day, inactivity_days)


def billed_accounts(db_session: Session, day: date, ids: Collection[int]) -> set[int]:
    """Return which of ids have a subscription row started before the end of day."""
    if not ids:
        return set()
    query = (
        select(Subscription.account_id)
        .where(Subscription.started_at < end_of(day), Subscription.account_id.in_(list(ids)))
        .distinct()
    )
    return {int(a) for (a,) in db_session.execute(query)}


def unpaid_rows(db_session: Session, day: date, ids: Collection[int]) -> pd.DataFrame:
    """Return scored-account rows for accounts without MRR: seats 0, MRR 0, their lifecycle."""
    if not ids:
        return pd.DataFrame(columns=COLUMNS)
    query = select(Account.id, Account.created_at).where(Account.id.in_(list(ids)))
    frame = pd.DataFrame(db_session.execute(query).all(), columns=["account_id", "created_at"])
    frame["seats"], frame["mrr"] = 0, 0
    frame["renewal_soon"] = False
    frame["lifecycle"] = _lifecycle(frame, day)
    return frame[COLUMNS]


def scored_accounts(
    db_session: Session,
    day: date,
    account_ids: Collection[int] | None,
    *,
    money: Money | None,
    definition: ChurnDefinition,
    active_ids: Collection[int],
) -> pd.DataFrame:
    """Return the accounts health scores on day (columns of inputs.active_accounts)."""
    paying = active_accounts(db_session, day, account_ids, money=money)
    if definition.kind == SUBSCRIPTION:
        return paying
    active = set(active_ids)
    if account_ids is not None:
        active &= set(account_ids)
    if definition.kind == INACTIVITY:
        paying = paying[paying["account_id"].isin(active)]
        extra = active - set(paying["account_id"])
    else:
        extra = active - billed_accounts(db_session, day, active)
    rows = unpaid_rows(db_session, day, sorted(extra))
    frames = [f for f in (paying, rows) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("account_id").reset_index(drop=True)
