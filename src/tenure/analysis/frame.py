"""The per-account analysis frame: duration, churn event, MRR and parsed attributes.

One row per account with

* ``account_id`` – the account's external id;
* ``duration`` – months of tenure (float). Where the account's source carries its own tenure
  count (Telco's ``tenure`` attribute, see :data:`DURATION_ATTRIBUTES`) that number is used;
  otherwise months (days ÷ 30.4375) from the first subscription start (or the account's
  ``created_at`` when it has none) to the churn date, or to the as-of date when still a customer;
* ``event`` – 1 if the account churned on or before the as-of date: it had subscriptions and
  every one that started by then had ended by then. An account without subscriptions takes the
  event from a label attribute (:data:`LABEL_ATTRIBUTES`, e.g. the bank set's ``Exited``);
* ``mrr`` – MRR of the latest subscription started by the as-of date, in major units;
* every attribute of the account: numeric-looking text becomes a number, blank text missing.

Label attributes are dropped from the features (they *are* the outcome), as are categorical
attributes with more than :data:`MAX_LEVELS` levels (names, ids) that cannot form cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Engine

from tenure.accounts.models import Account, Subscription

DAYS_PER_MONTH = 365.25 / 12
DURATION_ATTRIBUTES = {"telco": "tenure"}
LABEL_ATTRIBUTES = ("Churn", "Exited", "churn", "churned", "Churned")
MAX_LEVELS = 30
RESERVED = ("account_id", "duration", "event")
_TRUE = {"yes", "true", "1", "y", "t"}


@dataclass
class AnalysisFrame:
    """The frame plus which of its columns are numeric and categorical features."""

    data: pd.DataFrame
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        """Return every feature column, numeric first."""
        return [*self.numeric, *self.categorical]


def parse_attribute(values: pd.Series) -> pd.Series:
    """Return text values as numbers when every non-blank one is numeric, else as text.

    Blank or whitespace-only text and None become missing either way.
    """
    text = values.map(lambda v: None if v is None or v is pd.NA or v != v else str(v).strip())
    text = text.mask(text.isna() | (text == ""), None)
    present = text.notna()
    numbers = pd.to_numeric(text, errors="coerce")
    if present.any() and numbers[present].notna().all():
        return numbers.astype(float)
    return text.astype(object)


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def _as_of_timestamp(as_of: date | datetime) -> pd.Timestamp:
    if isinstance(as_of, datetime):
        moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    else:
        moment = datetime.combine(as_of, time.max, tzinfo=UTC)
    return pd.Timestamp(moment)


def _label_event(attributes: pd.DataFrame) -> pd.Series:
    event = pd.Series(np.nan, index=attributes.index)
    for name in LABEL_ATTRIBUTES:
        if name in attributes:
            label = attributes[name].map(
                lambda v: (
                    np.nan if v is None or pd.isna(v) else float(str(v).strip().lower() in _TRUE)
                )
            )
            event = event.fillna(label)
    return event


def build_frame(
    accounts: pd.DataFrame,
    subscriptions: pd.DataFrame,
    as_of: date | datetime,
) -> AnalysisFrame:
    """Return the analysis frame of accounts and subscriptions as they stood at ``as_of``.

    ``accounts``: columns ``account_id`` (any key), ``external_id``, ``created_at``, ``source``,
    ``attributes`` (dicts). ``subscriptions``: ``account_id``, ``mrr`` (minor units),
    ``started_at``, ``ended_at``. Accounts created after ``as_of`` are left out; subscriptions
    starting after it are ignored and ends after it count as still running.
    """
    cutoff = _as_of_timestamp(as_of)
    accounts = accounts.assign(created_at=_utc(accounts["created_at"]))
    accounts = accounts[accounts["created_at"] <= cutoff].reset_index(drop=True)
    subs = subscriptions.assign(
        started_at=_utc(subscriptions["started_at"]), ended_at=_utc(subscriptions["ended_at"])
    )
    subs = subs[subs["started_at"] <= cutoff]
    subs = subs.assign(
        ended_at=subs["ended_at"].where(subs["ended_at"] <= cutoff),
        mrr=pd.to_numeric(subs["mrr"], errors="coerce") / 100.0,
    )
    subs = subs.sort_values(["account_id", "started_at"]).assign(running=subs["ended_at"].isna())
    by_account = subs.groupby("account_id")
    per_account = pd.DataFrame(
        {
            "first_start": by_account["started_at"].min(),
            "running": by_account["running"].any(),
            "last_end": by_account["ended_at"].max(),
            "mrr": by_account["mrr"].last(),
        },
        columns=["first_start", "running", "last_end", "mrr"],
    )
    joined = accounts.join(per_account, on="account_id")
    has_subs = joined["first_start"].notna()

    attributes = pd.DataFrame.from_records(
        [dict(a or {}) for a in joined["attributes"]], index=joined.index
    )
    parsed = {name: parse_attribute(attributes[name]) for name in attributes.columns}

    event = pd.Series(0.0, index=joined.index)
    event[has_subs] = (~joined.loc[has_subs, "running"].astype(bool)).astype(float)
    label = _label_event(attributes) if len(attributes.columns) else event * np.nan
    event[~has_subs] = label[~has_subs].fillna(0.0)

    start = joined["first_start"].where(has_subs, joined["created_at"])
    end = joined["last_end"].where(event.astype(bool) & has_subs, cutoff)
    duration = (end - start).dt.total_seconds() / 86400 / DAYS_PER_MONTH
    for source, name in DURATION_ATTRIBUTES.items():
        own = joined["source"] == source
        if name in parsed and parsed[name].dtype.kind == "f":
            duration = duration.where(~own | parsed[name].isna(), parsed[name])
    data = pd.DataFrame(
        {
            "account_id": joined["external_id"],
            "duration": duration.clip(lower=0).astype(float),
            "event": event.astype(int),
            "mrr": joined["mrr"].astype(float),
        }
    )
    numeric, categorical = ["mrr"] if joined["mrr"].notna().any() else [], []
    if not numeric:
        data = data.drop(columns=["mrr"])
    for name, values in parsed.items():
        if name in LABEL_ATTRIBUTES or name in data.columns:
            continue
        if values.dtype.kind == "f":
            numeric.append(name)
        elif 1 < values.nunique() <= MAX_LEVELS:
            categorical.append(name)
        else:
            continue
        data[name] = values
    return AnalysisFrame(data=data, numeric=numeric, categorical=categorical)


def _rows(engine: Engine, statement: Any) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(statement)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def load_frame(engine: Engine, as_of: date | datetime) -> AnalysisFrame:
    """Read accounts and subscriptions from the app DB and build the analysis frame."""
    accounts = _rows(
        engine,
        sa.select(
            Account.id.label("account_id"),
            Account.external_id,
            Account.created_at,
            Account.source,
            Account.attributes,
        ),
    )
    subscriptions = _rows(
        engine,
        sa.select(
            Subscription.account_id,
            Subscription.mrr,
            Subscription.started_at,
            Subscription.ended_at,
        ),
    )
    return build_frame(accounts, subscriptions, as_of)
