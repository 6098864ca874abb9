"""Public data-set importers: `tenure import telco|bank|sparkify` and their conversions."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import Result

from tenure.accounts.models import Account, Subscription
from tenure.cli.datasets import register_datasets
from tenure.cli.imports import import_app
from tenure.cli.main import app
from tenure.config import Settings
from tenure.datasets import find_dataset
from tenure.ingest.flows import ImportResult
from tenure.ingest.importers import worst_exit_code
from tenure.ingest.importers.common import blank_to_missing, shifted_back
from tenure.ingest.importers.sparkify import sparkify_events, sparkify_subscriptions
from tenure.ingest.importers.telco import telco_accounts, telco_subscriptions
from tenure.ingest.models import ImportRun, QuarantinedRow
from tenure.warehouse.connection import open_warehouse

TELCO = "telco_customer_churn.csv.gz"
BANK = "bank_churn_modelling.csv.gz"
SPARKIFY = "sparkify_eventsim_log_2018-11.jsonl.gz"
REPO = Path(__file__).resolve().parents[2]

Invoke = Callable[..., Result]


def _dataset(name: str) -> Path:
    path = find_dataset(name)
    if path is None:
        pytest.skip(f"public data set {name} is absent; set TENURE_DATASETS_DIR to its folder")
    return path


@pytest.fixture
def telco_file() -> Path:
    """Return the IBM Telco churn file, or skip."""
    return _dataset(TELCO)


@pytest.fixture
def bank_file() -> Path:
    """Return the bank churn file, or skip."""
    return _dataset(BANK)


@pytest.fixture
def sparkify_file() -> Path:
    """Return the Sparkify November 2018 log, or skip."""
    return _dataset(SPARKIFY)


@pytest.fixture
def import_dataset(monkeypatch, settings: Settings, engine: sa.Engine, frozen_clock, cli) -> Invoke:
    """Return a function running `tenure --data-dir D import ARGS…` in the test's data dir."""
    if "telco" not in {command.name for command in import_app.registered_commands}:
        # Until cli/imports.py calls register_datasets itself; undone after the test.
        monkeypatch.setattr(import_app, "registered_commands", list(import_app.registered_commands))
        register_datasets(import_app)

    def invoke(*args: str) -> Result:
        return cli.invoke(app, ["--data-dir", str(settings.data_dir), "import", *args])

    return invoke


def _table(engine: sa.Engine, model) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(sa.select(model.__table__)).all())


def _accounts(engine: sa.Engine) -> dict[str, Account]:
    with sa.orm.Session(engine) as session:
        return {a.external_id: a for a in session.scalars(sa.select(Account))}


def _runs(engine: sa.Engine) -> list[ImportRun]:
    with sa.orm.Session(engine) as session:
        return list(session.scalars(sa.select(ImportRun).order_by(ImportRun.id)))


def _events(settings: Settings) -> list[tuple]:
    with open_warehouse(settings, read_only=True) as warehouse:
        return warehouse.con.execute(
            "SELECT message_id, account_external_id, name, ts, CAST(properties AS VARCHAR),"
            " source FROM events ORDER BY message_id"
        ).fetchall()


# --- telco -------------------------------------------------------------------------------------


def test_telco_lands_accounts_and_subscriptions(import_dataset, telco_file, settings, engine):
    result = import_dataset("telco", str(telco_file))

    assert result.exit_code == 0, result.output
    assert "accounts: 7,043 read, 7,043 loaded" in result.output
    accounts = _accounts(engine)
    assert len(accounts) == 7043
    first = accounts["7590-VHVEG"]  # tenure 1 month, Churn No
    assert first.name == "7590-VHVEG" and first.source == "telco"
    assert first.created_at == datetime(2019, 8, 30, tzinfo=UTC)
    assert first.attributes["Churn"] == "No" and first.attributes["Contract"] == "Month-to-month"
    assert {"gender", "SeniorCitizen", "tenure", "PaymentMethod", "MonthlyCharges"} <= set(
        first.attributes
    )
    assert "customerID" not in first.attributes
    assert sum(a.attributes["Churn"] == "Yes" for a in accounts.values()) == 1869
    blank_totals = [a for a in accounts.values() if "TotalCharges" not in a.attributes]
    assert len(blank_totals) == 11
    assert {a.attributes["tenure"] for a in blank_totals} == {"0"}

    subscriptions = _table(engine, Subscription)
    assert len(subscriptions) == 7043
    with sa.orm.Session(engine) as session:
        canceled = session.scalars(sa.select(Subscription).where(Subscription.status == "canceled"))
        canceled = list(canceled)
        one = session.scalars(
            sa.select(Subscription).where(Subscription.external_id == "7590-VHVEG")
        ).one()
    assert len(canceled) == 1869
    assert {s.ended_at for s in canceled} == {datetime(2019, 9, 30, tzinfo=UTC)}
    assert (one.plan, one.mrr, one.currency, one.status, one.ended_at) == (
        "Month-to-month",
        2985,
        "USD",
        "active",
        None,
    )
    assert one.started_at == first.created_at

    runs = _runs(engine)
    assert [(r.kind, r.source, r.status, r.rows_inserted) for r in runs] == [
        ("accounts", "telco", "succeeded", 7043),
        ("subscriptions", "telco", "succeeded", 7043),
    ]
    assert list((settings.data_dir / "tmp").iterdir()) == []  # converted files removed


def test_telco_reimport_changes_nothing(import_dataset, telco_file, engine):
    assert import_dataset("telco", str(telco_file)).exit_code == 0
    before = (_table(engine, Account), _table(engine, Subscription))

    again = import_dataset("telco", str(telco_file))

    assert again.exit_code == 0, again.output
    assert (_table(engine, Account), _table(engine, Subscription)) == before
    second = _runs(engine)[2:]
    assert [(r.kind, r.rows_inserted, r.rows_updated) for r in second] == [
        ("accounts", 0, 7043),
        ("subscriptions", 0, 7043),
    ]


def test_telco_as_of_moves_start_and_end_dates(import_dataset, telco_file, engine):
    result = import_dataset("telco", str(telco_file), "--as-of", "2020-01-31")

    assert result.exit_code == 0, result.output
    assert _accounts(engine)["7590-VHVEG"].created_at == datetime(2019, 12, 31, tzinfo=UTC)
    with engine.connect() as conn:
        ends = conn.execute(sa.select(Subscription.ended_at).distinct()).scalars().all()
    assert set(ends) == {None, datetime(2020, 1, 31, tzinfo=UTC)}


def test_wrong_file_is_refused_before_anything_lands(import_dataset, bank_file, engine):
    result = import_dataset("telco", str(bank_file))

    assert result.exit_code == 2
    assert "not the IBM Telco churn data set" in " ".join(result.output.split())
    assert _runs(engine) == [] and _accounts(engine) == {}


# --- bank --------------------------------------------------------------------------------------


def test_bank_lands_accounts_with_the_exited_label(import_dataset, bank_file, engine):
    result = import_dataset("bank", str(bank_file))

    assert result.exit_code == 0, result.output
    accounts = _accounts(engine)
    assert len(accounts) == 10000
    assert all("Exited" in a.attributes for a in accounts.values())
    assert sum(a.attributes["Exited"] == "1" for a in accounts.values()) == 2037
    first = accounts["15634602"]  # RowNumber 1: Hargrave, France, Tenure 2, Exited 1
    assert (first.name, first.region, first.source) == ("Hargrave", "France", "bank")
    assert first.created_at == datetime(2016, 12, 17, tzinfo=UTC)
    assert "RowNumber" not in first.attributes and "Surname" not in first.attributes
    assert first.attributes["CreditScore"] == "619" and first.attributes["Tenure"] == "2"
    regions = pd.Series([a.region for a in accounts.values()]).value_counts().to_dict()
    assert regions == {"France": 5014, "Germany": 2509, "Spain": 2477}
    assert _table(engine, Subscription) == []
    assert [(r.kind, r.source, r.status) for r in _runs(engine)] == [
        ("accounts", "bank", "succeeded")
    ]


def test_bank_reimport_changes_nothing(import_dataset, bank_file, engine):
    assert import_dataset("bank", str(bank_file)).exit_code == 0
    before = _table(engine, Account)

    assert import_dataset("bank", str(bank_file)).exit_code == 0

    assert _table(engine, Account) == before
    assert (_runs(engine)[-1].rows_inserted, _runs(engine)[-1].rows_updated) == (0, 10000)


# --- sparkify ----------------------------------------------------------------------------------


def _logged_in_lines(path: Path) -> int:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return sum(1 for line in lines if line.strip() and json.loads(line)["userId"] != "")


def test_sparkify_lands_users_events_and_paid_periods(
    import_dataset, sparkify_file, settings, engine
):
    result = import_dataset("sparkify", str(sparkify_file))

    assert result.exit_code == 3, result.output  # logged-out events are quarantined
    accounts = _accounts(engine)
    assert len(accounts) == 97
    walter = accounts["39"]
    assert (walter.name, walter.region) == ("Walter Frye", "San Francisco-Oakland-Hayward, CA")
    assert set(walter.attributes) == {"gender", "level", "userAgent"}
    assert walter.created_at == datetime(2018, 10, 30, 17, 6, 6, 796000, tzinfo=UTC)

    events = _events(settings)
    assert len(events) == _logged_in_lines(sparkify_file) == 7770
    assert {e[5] for e in events} == {"sparkify"}
    first = next(e for e in events if e[0] == "sparkify:39:38:0:1541105830796")
    assert first[1:4] == ("39", "Home", datetime(2018, 11, 1, 20, 57, 10, 796000, tzinfo=UTC))
    assert json.loads(first[4]) == {
        "sessionId": 38,
        "itemInSession": 0,
        "level": "free",
        "method": "GET",
        "status": 200,
        "auth": "Logged In",
    }

    with sa.orm.Session(engine) as session:
        quarantined = list(session.scalars(sa.select(QuarantinedRow)))
        subscriptions = list(session.scalars(sa.select(Subscription)))
    assert len(quarantined) == 286
    assert {(q.kind, q.field, q.reason) for q in quarantined} == {
        ("events", "account_id", "missing required value")
    }
    assert len(subscriptions) == 23
    assert {(s.plan, s.mrr, s.currency) for s in subscriptions} == {("paid", 999, "USD")}
    assert sorted(s.status for s in subscriptions).count("canceled") == 1  # user 15 downgraded
    runs = _runs(engine)
    assert [(r.kind, r.source, r.status) for r in runs] == [
        ("accounts", "sparkify", "succeeded"),
        ("subscriptions", "sparkify", "succeeded"),
        ("events", "sparkify", "partial"),
    ]
    assert (runs[2].rows_read, runs[2].rows_loaded, runs[2].rows_quarantined) == (8056, 7770, 286)


def test_sparkify_reimport_adds_no_events(import_dataset, sparkify_file, settings, engine):
    assert import_dataset("sparkify", str(sparkify_file)).exit_code == 3
    before = (_events(settings), _table(engine, Account), _table(engine, Subscription))

    again = import_dataset("sparkify", str(sparkify_file))

    assert again.exit_code == 3, again.output
    assert (_events(settings), _table(engine, Account), _table(engine, Subscription)) == before
    events_run = _runs(engine)[-1]
    assert events_run.kind == "events"
    assert (events_run.rows_inserted, events_run.details["duplicates"]) == (0, 7770)


# --- conversions and exit codes (no data set needed) -------------------------------------------


def _result(loaded: int, quarantined: int) -> ImportResult:
    return ImportResult(
        run_id=1, kind="accounts", path="x", rows_loaded=loaded, rows_quarantined=quarantined
    )


def test_worst_exit_code_prefers_nothing_imported_over_partial():
    assert worst_exit_code([_result(5, 0), _result(5, 0)]) == 0
    assert worst_exit_code([_result(5, 0), _result(5, 1)]) == 3
    assert worst_exit_code([_result(5, 1), _result(0, 2), _result(5, 0)]) == 2


def test_shifted_back_clips_to_month_end_and_keeps_gaps_missing():
    shifted = shifted_back(date(2019, 3, 31), pd.Series(["1", "12", "", "x", "1.5"]), "months")
    assert shifted.tolist() == [
        "2019-02-28T00:00:00+00:00",
        "2018-03-31T00:00:00+00:00",
        None,
        None,
        None,
    ]


def test_telco_conversion_keeps_the_label_and_drops_blank_totals():
    raw = pd.DataFrame(
        {
            "customerID": ["A-1", "B-2"],
            "tenure": ["0", "3"],
            "Contract": ["Two year", "Month-to-month"],
            "MonthlyCharges": ["20.25", "70.70"],
            "TotalCharges": [" ", "212.1"],
            "Churn": ["No", "Yes"],
        }
    )
    customers = blank_to_missing(raw)
    accounts = telco_accounts(customers, date(2019, 9, 30))
    subscriptions = telco_subscriptions(customers, accounts, date(2019, 9, 30))

    assert accounts["created_at"].tolist() == [
        "2019-09-30T00:00:00+00:00",
        "2019-06-30T00:00:00+00:00",
    ]
    assert pd.isna(accounts.loc[0, "TotalCharges"]) and accounts.loc[1, "Churn"] == "Yes"
    assert subscriptions[["status", "ended_at"]].values.tolist() == [
        ["active", None],
        ["canceled", "2019-09-30T00:00:00+00:00"],
    ]


def _log(rows: list[tuple[str, int, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["userId", "ts", "level", "page"])
    return frame.assign(
        sessionId=1,
        itemInSession=range(len(frame)),
        song=None,
        artist=None,
        length=float("nan"),
        method="GET",
        status=200,
        auth="Logged In",
    )


def test_paid_runs_become_subscriptions_ending_at_downgrade_or_cancellation():
    log = _log(
        [
            ("7", 1000, "free", "Home"),
            ("7", 2000, "paid", "Home"),
            ("7", 3000, "free", "Home"),
            ("7", 4000, "paid", "NextSong"),
            ("8", 1500, "paid", "Home"),
            ("8", 2500, "paid", "Cancellation Confirmation"),
            ("", 1200, "free", "Home"),
        ]
    )
    periods = sparkify_subscriptions(log)

    assert periods[["account_id", "started_at", "ended_at", "status"]].values.tolist() == [
        ["7", "2000", "3000", "canceled"],
        ["7", "4000", None, "active"],
        ["8", "1500", "2500", "canceled"],
    ]
    events = sparkify_events(log)
    assert events["account_id"].isna().tolist() == [False] * 6 + [True]
    assert events["message_id"].iloc[0] == "sparkify:7:1:0:1000"
    assert json.loads(events["properties"].iloc[0]) == {
        "sessionId": 1,
        "itemInSession": 0,
        "level": "free",
        "method": "GET",
        "status": 200,
        "auth": "Logged In",
    }
