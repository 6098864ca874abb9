"""A randomized treatment that cuts hazards by half: the treated arm must churn less."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


def read_csv(folder: Path, name: str) -> pd.DataFrame:
    """Read a simulator CSV with every value as text ('' for empty)."""
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def churned_after_assignment(folder: Path) -> pd.DataFrame:
    """Return assignments with whether the account churned at or after its assignment."""
    assignments = read_csv(folder, "assignments.csv")
    subs = read_csv(folder, "subscriptions.csv")
    starts = set(zip(subs["account_id"], subs["started_at"], strict=True))
    ends = subs[subs["ended_at"] != ""]
    # An end that coincides with a new row's start is a seat change, not a churn.
    churns = ends[[k not in starts for k in zip(ends["account_id"], ends["ended_at"], strict=True)]]
    merged = churns.merge(assignments, on="account_id")
    after = set(merged[merged["ended_at"] >= merged["assigned_at"]]["account_id"])
    assignments["churned"] = assignments["account_id"].isin(after)
    return assignments


def test_treated_accounts_churn_less(treatment_dataset: Path) -> None:
    rows = churned_after_assignment(treatment_dataset)
    assert set(rows["group"]) == {"treated", "control"}
    treated = rows[rows["group"] == "treated"]["churned"]
    control = rows[rows["group"] == "control"]["churned"]
    assert abs(len(treated) - len(control)) < 0.1 * len(rows)
    assert (rows[rows["group"] == "treated"]["effect"] == "0.5").all()
    pooled = rows["churned"].mean()
    se = np.sqrt(pooled * (1 - pooled) * (1 / len(treated) + 1 / len(control)))
    z = (control.mean() - treated.mean()) / se
    assert z > 3.0, (control.mean(), treated.mean(), z)
    assert treated.mean() < 0.75 * control.mean()


def test_truth_knows_who_is_treated(treatment_dataset: Path) -> None:
    truth = pq.read_table(treatment_dataset / "truth.parquet").to_pandas()
    groups = read_csv(treatment_dataset, "assignments.csv").set_index("account_id")["group"]
    truth["group"] = truth["account_id"].map(groups)
    by_state = truth.groupby(["state", "group"])["p_churn_30"].mean().unstack()
    assert (by_state["treated"] < by_state["control"]).all()
