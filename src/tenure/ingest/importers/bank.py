"""Import the bank customer-churn file ("Churn_Modelling", 10,000 customers) as accounts.

Conversion: one **account** per ``CustomerId``; name = ``Surname`` (kept as in the original,
including the 92 surnames with ``?`` for lost letters), region = ``Geography``, ``created_at`` =
the as-of date minus ``Tenure`` years. The as-of date defaults to 2018-12-17, the date of the
source repository's HEAD commit (the file carries no date). Every other column, including the
label ``Exited``, is kept verbatim (as text) in ``attributes``; ``RowNumber`` (a row counter)
is dropped.

No subscriptions are written: the file has no revenue or plan column (``Balance`` and
``EstimatedSalary`` are not recurring revenue), so there is no honest MRR to record.
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
    no_progress,
    read_source,
    scratch_folder,
    shifted_back,
    write_canonical,
)

SOURCE = "bank"
AS_OF = date(2018, 12, 17)
COLUMNS = (
    "RowNumber",
    "CustomerId",
    "Surname",
    "CreditScore",
    "Geography",
    "Gender",
    "Age",
    "Tenure",
    "Balance",
    "NumOfProducts",
    "HasCrCard",
    "IsActiveMember",
    "EstimatedSalary",
    "Exited",
)


def bank_accounts(customers: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Return the canonical accounts: id, name, region, created_at, then the other columns."""
    accounts = pd.DataFrame(
        {
            "account_id": customers["CustomerId"],
            "name": customers["Surname"],
            "created_at": shifted_back(as_of, customers["Tenure"], "years"),
            "region": customers["Geography"],
        }
    )
    extras = customers.drop(columns=["RowNumber", "CustomerId", "Surname", "Geography"])
    return pd.concat([accounts, extras], axis=1)


def import_bank(
    path: Path,
    *,
    settings: Settings,
    engine: Engine,
    as_of: date = AS_OF,
    progress: DatasetProgress = no_progress,
) -> list[ImportResult]:
    """Convert the bank churn file and import its accounts."""
    with scratch_folder(settings, SOURCE) as folder:
        progress(SOURCE, "converting", 0, None)
        raw = read_source(path, folder, dataset="bank churn", fmt="csv", columns=COLUMNS)
        accounts = bank_accounts(blank_to_missing(raw), as_of)
        stem = path.name.split(".")[0]
        files = [("accounts", write_canonical(accounts, folder, stem, "accounts"))]
        return import_canonical(
            files, source=SOURCE, settings=settings, engine=engine, progress=progress, origin=path
        )
