"""Every output file: exact columns, unique ids, resolvable foreign keys, valid values."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.simulate import STATES

END = date(2025, 3, 31)  # the shared datasets' --end (conftest.py)
ISO_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
MONEY = r"^\d+\.\d{2}$"
END_TEXT = f"{END.isoformat()}T00:00:00Z"
COLUMNS = {
    "accounts.csv": "account_id,name,created_at,industry,region,employees,owner",
    "contacts.csv": "contact_id,account_id,email,name,role,created_at,consent_email,consent_sms",
    "subscriptions.csv": "subscription_id,account_id,plan,status,mrr,currency,quantity,"
    "billing_interval,started_at,ended_at",
    "invoices.csv": "invoice_id,account_id,subscription_id,amount,currency,status,issued_at,paid_at",
    "tickets.csv": "ticket_id,account_id,contact_id,subject,opened_at,closed_at,priority,status,csat",
    "surveys.csv": "response_id,account_id,contact_id,kind,score,responded_at,comment",
    "assignments.csv": "account_id,group,assigned_at,effect,usage_effect,exposed_on,"
    "p_churn_90_control,p_churn_90_treated",
}
TIMES = {
    "accounts.csv": ("created_at",),
    "contacts.csv": ("created_at",),
    "subscriptions.csv": ("started_at", "ended_at"),
    "invoices.csv": ("issued_at", "paid_at"),
    "tickets.csv": ("opened_at", "closed_at"),
    "surveys.csv": ("responded_at",),
    "assignments.csv": ("assigned_at",),
}


def read_csv(folder: Path, name: str) -> pd.DataFrame:
    """Read a simulator CSV with every value as text ('' for empty)."""
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def assert_times(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Assert ISO 8601 'Z' timestamps (or empty), all strictly before END."""
    for column in columns:
        values = frame[column][frame[column] != ""]
        assert values.str.match(ISO_Z).all(), column
        assert (values < END_TEXT).all(), column


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_csv_columns_ids_and_times(small_dataset: Path, sim_end: date, name: str) -> None:
    assert sim_end == END
    frame = read_csv(small_dataset, name)
    assert ",".join(frame.columns) == COLUMNS[name]
    assert len(frame) > 0
    assert frame.iloc[:, 0].is_unique
    assert_times(frame, TIMES[name])


def test_foreign_keys_resolve(small_dataset: Path) -> None:
    accounts = set(read_csv(small_dataset, "accounts.csv")["account_id"])
    contacts = read_csv(small_dataset, "contacts.csv")
    owner_of = dict(zip(contacts["contact_id"], contacts["account_id"], strict=True))
    subs = read_csv(small_dataset, "subscriptions.csv")
    sub_owner = dict(zip(subs["subscription_id"], subs["account_id"], strict=True))
    assert set(contacts["account_id"]) <= accounts and set(subs["account_id"]) <= accounts
    invoices = read_csv(small_dataset, "invoices.csv")
    assert (invoices["subscription_id"].map(sub_owner) == invoices["account_id"]).all()
    billed = invoices.merge(subs, on="subscription_id", suffixes=("", "_sub"))
    assert (billed["issued_at"] >= billed["started_at"]).all()
    ended = billed[billed["ended_at"] != ""]
    assert (ended["issued_at"] < ended["ended_at"]).all()
    for name in ("tickets.csv", "surveys.csv"):
        frame = read_csv(small_dataset, name)
        assert (frame["contact_id"].map(owner_of) == frame["account_id"]).all(), name
    assert set(read_csv(small_dataset, "assignments.csv")["account_id"]) <= accounts


def test_accounts_and_contacts_values(small_dataset: Path) -> None:
    accounts = read_csv(small_dataset, "accounts.csv")
    assert accounts["created_at"].is_monotonic_increasing
    assert set(accounts["employees"]) <= {"1-10", "11-50", "51-200", "201-1000", "1000+"}
    assert (accounts["owner"] != "").any() and (accounts["owner"] == "").any()
    contacts = read_csv(small_dataset, "contacts.csv")
    assert contacts["email"].is_unique and contacts["email"].str.contains("@").all()
    assert contacts.groupby("account_id").size().between(2, 6).all()
    for column in ("consent_email", "consent_sms"):
        assert set(contacts[column]) == {"true", "false"}
    created = dict(zip(accounts["account_id"], accounts["created_at"], strict=True))
    assert (contacts["created_at"] >= contacts["account_id"].map(created)).all()


def test_subscriptions_are_an_mrr_history(small_dataset: Path) -> None:
    subs = read_csv(small_dataset, "subscriptions.csv")
    assert subs["mrr"].str.match(MONEY).all() and (subs["mrr"].astype(float) >= 0).all()
    assert set(subs["status"]) == {"active", "canceled"}
    assert ((subs["status"] == "active") == (subs["ended_at"] == "")).all()
    assert set(subs["currency"]) <= {"USD", "EUR", "GBP"}
    assert set(subs["billing_interval"]) == {"month", "year"}
    assert (subs["quantity"].astype(int) >= 1).all()
    ended = subs[subs["ended_at"] != ""]
    assert (ended["started_at"] <= ended["ended_at"]).all()
    assert subs[subs["status"] == "active"]["account_id"].is_unique
    assert (subs.groupby("account_id")["plan"].nunique() == 1).all()


def test_invoices_tickets_surveys_values(small_dataset: Path) -> None:
    inv = read_csv(small_dataset, "invoices.csv")
    assert inv["amount"].str.match(MONEY).all()
    assert set(inv["status"]) <= {"paid", "failed", "refunded", "open"} and "failed" in set(
        inv["status"]
    )
    unpaid = inv["status"].isin(["failed", "open"])
    assert (inv["paid_at"][unpaid] == "").all() and (inv["paid_at"][~unpaid] != "").all()
    assert (inv["paid_at"][~unpaid] >= inv["issued_at"][~unpaid]).all()
    tickets = read_csv(small_dataset, "tickets.csv")
    assert set(tickets["priority"]) == {"low", "normal", "high", "urgent"}
    assert ((tickets["closed_at"] == "") == tickets["status"].isin(["open", "pending"])).all()
    closed = tickets[tickets["closed_at"] != ""]
    assert (closed["opened_at"] <= closed["closed_at"]).all()
    csat = tickets["csat"][tickets["csat"] != ""].astype(int)
    assert csat.between(1, 5).all() and len(csat) > 0
    surveys = read_csv(small_dataset, "surveys.csv")
    score = surveys["score"].astype(int)
    assert set(surveys["kind"]) == {"nps", "csat"}
    assert score[surveys["kind"] == "nps"].between(0, 10).all()
    assert score[surveys["kind"] == "csat"].between(1, 5).all()


def test_events_parquet(small_dataset: Path) -> None:
    schema = pq.read_schema(small_dataset / "events.parquet")
    assert schema.names == [
        "message_id", "account_id", "contact_id", "event", "timestamp", "properties", "source"
    ]  # fmt: skip
    assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    events = pq.read_table(small_dataset / "events.parquet").to_pandas()
    assert events["message_id"].is_unique and (events["source"] == "simulator").all()
    assert set(events["account_id"]) <= set(read_csv(small_dataset, "accounts.csv")["account_id"])
    contacts = read_csv(small_dataset, "contacts.csv")
    owner_of = dict(zip(contacts["contact_id"], contacts["account_id"], strict=True))
    with_contact = events.dropna(subset=["contact_id"])
    assert (with_contact["contact_id"].map(owner_of) == with_contact["account_id"]).all()
    assert events["timestamp"].max() < pd.Timestamp(END, tz="UTC")
    assert events["timestamp"].is_monotonic_increasing
    props = events["properties"].dropna()
    assert all(isinstance(json.loads(p), dict) for p in props.unique())


def test_events_only_while_subscribed(small_dataset: Path) -> None:
    con = duckdb.connect()
    outside = con.execute(
        """
        WITH subs AS (
            SELECT account_id, started_at::TIMESTAMPTZ AS s,
                   coalesce(ended_at::TIMESTAMPTZ, TIMESTAMPTZ '2100-01-01') AS e
            FROM read_csv(?, all_varchar = true)
        )
        SELECT count(*) FROM read_parquet(?) AS ev
        WHERE NOT EXISTS (
            SELECT 1 FROM subs
            WHERE subs.account_id = ev.account_id AND ev.timestamp >= s AND ev.timestamp < e
        )
        """,
        [str(small_dataset / "subscriptions.csv"), str(small_dataset / "events.parquet")],
    ).fetchone()[0]
    assert outside == 0


def test_truth_parquet(small_dataset: Path) -> None:
    truth = pq.read_table(small_dataset / "truth.parquet").to_pandas()
    assert list(truth.columns) == ["account_id", "date", "state", "p_churn_30", "p_churn_90"]
    assert truth["p_churn_30"].dtype == "float32"
    assert set(truth["state"]) <= set(STATES)
    assert not truth.duplicated(["account_id", "date"]).any()
    assert truth["p_churn_30"].between(0, 1).all() and truth["p_churn_90"].between(0, 1).all()
    assert (truth["p_churn_90"] >= truth["p_churn_30"]).all()
    assert truth["date"].max() == END
    assert set(truth["account_id"]) <= set(read_csv(small_dataset, "accounts.csv")["account_id"])


def test_manifest_counts_match(small_dataset: Path) -> None:
    manifest = json.loads((small_dataset / "manifest.json").read_text())
    for name, rows in manifest["files"].items():
        if name.endswith(".csv"):
            assert len(read_csv(small_dataset, name)) == rows, name
        elif name.endswith(".parquet"):
            assert pq.ParquetFile(small_dataset / name).metadata.num_rows == rows, name
    assert manifest["chain"]["states"] == list(STATES)
    assert manifest["seed"] == 7 and manifest["end"] == END.isoformat()
