"""Import the IBM Telco customer-churn file (7,043 customers) as accounts and subscriptions.

The file is one snapshot row per customer. Conversion:

* **account** per ``customerID`` (also its name, since the file has no other name);
  ``created_at`` = the as-of date minus ``tenure`` months. The as-of date defaults to
  2019-09-30, the month the snapshot was published (commit date of the file in
  ``IBM/telco-customer-churn-on-icp4d``); the file itself carries no date. Every other column,
  including the label ``Churn``, is kept verbatim (as text) in ``attributes``; the 11 blank
  ``TotalCharges`` (" ", all with ``tenure == 0``) become missing, i.e. absent from attributes.
* **subscription** per customer, keyed by ``customerID``: plan = ``Contract``, MRR =
  ``MonthlyCharges`` USD billed monthly, started at the account's ``created_at``; customers with
  ``Churn == "Yes"`` (left within the last month) end at the as-of date and are ``canceled``,
  the rest are ``active``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from tenure.config import Settings
from tenure.ingest.flows import ImportResult
from tenure.ingest.importers.common import (
    DatasetProgress,
    blank_to_missing,
    import_canonical,
    iso,
    no_progress,
    read_source,
    scratch_folder,
    shifted_back,
    utc_midnight,
    write_canonical,
)

SOURCE = "telco"
AS_OF = date(2019, 9, 30)
COLUMNS = (
    "customerID",
    "gender",
    "SeniorCitizen",
    "Partner",
    "Dependents",
    "tenure",
    "PhoneService",
    "MultipleLines",
    "InternetService",
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
    "Contract",
    "PaperlessBilling",
    "PaymentMethod",
    "MonthlyCharges",
    "TotalCharges",
    "Churn",
)


def telco_accounts(customers: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Return the canonical accounts: id, name, created_at, then every other column."""
    accounts = pd.DataFrame(
        {
            "account_id": customers["customerID"],
            "name": customers["customerID"],
            "created_at": shifted_back(as_of, customers["tenure"], "months"),
        }
    )
    extras = customers.drop(columns=["customerID"])
    return pd.concat([accounts, extras], axis=1)


def telco_subscriptions(
    customers: pd.DataFrame, accounts: pd.DataFrame, as_of: date
) -> pd.DataFrame:
    """Return one canonical subscription per customer; churned ones end at as_of."""
    churned = customers["Churn"].fillna("").str.lower() == "yes"
    return pd.DataFrame(
        {
            "subscription_id": customers["customerID"],
            "account_id": customers["customerID"],
            "plan": customers["Contract"],
            "status": churned.map({True: "canceled", False: "active"}),
            "mrr": customers["MonthlyCharges"],
            "currency": "USD",
            "quantity": "1",
            "billing_interval": "month",
            "started_at": accounts["created_at"],
            "ended_at": churned.map({True: iso(utc_midnight(as_of)), False: None}),
        }
    )


def import_telco(
    path: Path,
    *,
    settings: Settings,
    engine: Engine,
    as_of: date = AS_OF,
    progress: DatasetProgress = no_progress,
) -> list[ImportResult]:
    """Convert the Telco file and import its accounts, then its subscriptions."""
    with scratch_folder(settings, SOURCE) as folder:
        progress(SOURCE, "converting", 0, None)
        raw = read_source(path, folder, dataset="IBM Telco churn", fmt="csv", columns=COLUMNS)
        customers = blank_to_missing(raw)
        accounts = telco_accounts(customers, as_of)
        subscriptions = telco_subscriptions(customers, accounts, as_of)
        stem = path.name.split(".")[0]
        files = [
            ("accounts", write_canonical(accounts, folder, stem, "accounts")),
            ("subscriptions", write_canonical(subscriptions, folder, stem, "subscriptions")),
        ]
        return import_canonical(
            files, source=SOURCE, settings=settings, engine=engine, progress=progress, origin=path
        )
