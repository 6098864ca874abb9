"""Feature snapshots are time-travel correct, match an independent pandas count, and the
labels match the simulator's own churn labelling (an independent implementation)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, update

from tenure.accounts.models import Invoice, Subscription, SurveyResponse, Ticket
from tenure.churn import snapshots
from tenure.churn.labels import label_table
from tenure.churn.stages import account_features
from tenure.db.session import get_engine, session_scope
from tenure.simulate.evaluate import churn_dates, label_truth
from tenure.stage import StageContext
from tenure.warehouse.connection import open_warehouse

from .conftest import copy_book

AS_OF = date(2025, 3, 15)
CUTOFF = datetime(2025, 3, 16, tzinfo=UTC)


def build(settings, as_of: date = AS_OF) -> pd.DataFrame:
    """Run the features stage for a day and return its table."""
    engine = get_engine(settings)
    account_features(StageContext(settings=settings, engine=engine, as_of=as_of))
    engine.dispose()
    with open_warehouse(settings, read_only=True) as warehouse:
        return snapshots.read_feature_table(warehouse.con, as_of)


def forget_the_future(settings) -> None:
    """Remove every fact stamped after the cutoff, and ends/closes/payments that came later."""
    engine = get_engine(settings)
    with session_scope(engine) as session:
        session.execute(delete(Subscription).where(Subscription.started_at >= CUTOFF))
        session.execute(
            update(Subscription).where(Subscription.ended_at >= CUTOFF).values(ended_at=None)
        )
        session.execute(delete(Invoice).where(Invoice.issued_at >= CUTOFF))
        session.execute(update(Invoice).where(Invoice.paid_at >= CUTOFF).values(paid_at=None))
        session.execute(delete(Ticket).where(Ticket.opened_at >= CUTOFF))
        session.execute(
            update(Ticket).where(Ticket.closed_at >= CUTOFF).values(closed_at=None, csat=None)
        )
        session.execute(delete(SurveyResponse).where(SurveyResponse.responded_at >= CUTOFF))
    engine.dispose()
    with open_warehouse(settings) as warehouse:
        warehouse.con.execute("DELETE FROM events WHERE ts >= ?", [CUTOFF])


def test_future_data_changes_no_feature(churn_book: Path, tmp_path: Path) -> None:
    """Features of a day built with 3½ months of later data equal those built without it."""
    full = build(copy_book(churn_book, tmp_path / "full"))
    past = copy_book(churn_book, tmp_path / "past")
    forget_the_future(past)
    truncated = build(past)
    assert len(full) > 300
    # the later data really is there: churns, seat changes and events after the as-of
    with duckdb.connect(str(churn_book / "warehouse.duckdb"), read_only=True) as con:
        later = con.execute("SELECT count(*) FROM events WHERE ts >= ?", [CUTOFF]).fetchone()[0]
    assert later > 50_000
    pd.testing.assert_frame_equal(full, truncated, check_exact=False, rtol=1e-12)


def test_counts_match_an_independent_pandas_count(churn_book: Path, tmp_path: Path) -> None:
    """events_30d, active days, logins, seats and failed payments recomputed in pandas."""
    settings = copy_book(churn_book, tmp_path)
    features = build(settings).set_index("account_id")
    with open_warehouse(settings, read_only=True) as warehouse:
        events = warehouse.con.execute(
            "SELECT account_id, name, CAST(ts AS TIMESTAMP) AS ts FROM events"
        ).df()
    day = events["ts"].dt.floor("D")
    start = pd.Timestamp(AS_OF) - pd.Timedelta(days=29)
    window = events[(day >= start) & (day <= pd.Timestamp(AS_OF))]
    grouped = window.groupby("account_id")
    expected = (
        pd.DataFrame(
            {
                "events_30d": grouped.size(),
                "active_days_30d": grouped["ts"].apply(lambda s: s.dt.floor("D").nunique()),
                "ev_login_30d": window[window["name"] == "login"].groupby("account_id").size(),
            }
        )
        .reindex(features.index)
        .fillna(0)
    )
    for column in expected:
        np.testing.assert_array_equal(features[column].to_numpy(), expected[column].to_numpy())
    engine = get_engine(settings)
    invoices = pd.read_sql("SELECT account_id, status, issued_at FROM invoice", engine)
    subs = pd.read_sql(
        "SELECT account_id, quantity, mrr, started_at, ended_at FROM subscription", engine
    )
    engine.dispose()
    cutoff = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    issued = pd.to_datetime(invoices["issued_at"], utc=True).dt.tz_localize(None)
    recent = invoices[(issued < cutoff) & (issued >= cutoff - pd.Timedelta(days=90))]
    failed = recent[recent["status"] == "failed"].groupby("account_id").size()
    np.testing.assert_array_equal(
        features["failed_payments_90d"].to_numpy(), failed.reindex(features.index).fillna(0)
    )
    started = pd.to_datetime(subs["started_at"], utc=True).dt.tz_localize(None)
    ended = pd.to_datetime(subs["ended_at"], utc=True).dt.tz_localize(None)
    open_rows = subs[(started < cutoff) & (ended.isna() | (ended >= cutoff)) & (subs["mrr"] > 0)]
    seats = open_rows.groupby("account_id")["quantity"].sum()
    assert set(seats.index) == set(features.index)  # exactly the accounts paying at the as-of
    np.testing.assert_array_equal(features["seats"].to_numpy(), seats.reindex(features.index))


@pytest.mark.parametrize("horizon", [30, 90])
def test_labels_match_the_simulators_own_labelling(churn_book: Path, horizon: int) -> None:
    """Labels equal tenure.simulate.evaluate's churn labels for the same accounts and window."""
    import ibis

    with open_warehouse(settings_for(churn_book), read_only=True) as warehouse:
        keys = warehouse.con.execute(
            "SELECT DISTINCT account_id, account_external_id FROM events"
        ).df()
    keys = keys.assign(as_of=AS_OF)
    engine = get_engine(settings_for(churn_book))
    from tenure.churn.sources import subscriptions_table

    subs = subscriptions_table(engine, settings_for(churn_book))
    engine.dispose()
    con = ibis.duckdb.connect()
    ours = con.execute(
        label_table(ibis.memtable(keys[["as_of", "account_id"]]), ibis.memtable(subs), horizon)
    )
    ours = ours.merge(keys, on="account_id")
    sim_subs = pd.read_csv(churn_book.parent / "sim" / "subscriptions.csv", dtype=str)
    truth = pd.DataFrame(
        {
            "account_id": ours["account_external_id"],
            "date": pd.Timestamp(AS_OF + timedelta(days=1)),
        }
    )
    theirs = label_truth(truth, churn_dates(sim_subs), horizon)
    assert ours["churned"].sum() > 3
    np.testing.assert_array_equal(ours["churned"].to_numpy().astype(bool), theirs)


def settings_for(data: Path):
    """Return settings on a data dir without copying it (read-only use)."""
    from tenure.config import Settings

    return Settings(data_dir=data)


def test_usage_counts_names_outside_the_listed_ones() -> None:
    """distinct_events_30d counts every name used in the 30 days, listed or not; per-name and
    window counts match a pandas count (events of many names, only two of them listed)."""
    import ibis

    from tenure.churn import features

    rng = np.random.default_rng(0)
    n = 20_000
    names = ["login", "report", "export", "rare a", "rare b", "rare c"]
    seconds = rng.integers(0, 120 * 86_400, n)
    events = pd.DataFrame(
        {
            "account_id": rng.integers(1, 60, n),
            "name": rng.choice(names, n, p=[0.5, 0.3, 0.17, 0.01, 0.01, 0.01]),
            "ts": pd.Timestamp("2025-01-01") + pd.to_timedelta(seconds, unit="s"),
        }
    )
    as_of, cutoff = date(2025, 3, 31), datetime(2025, 4, 1)
    listed = names[:2]
    table = ibis.memtable(events)
    expr = features.usage_features(
        features.daily_events(table, cutoff), features.as_of_table([as_of]), listed
    )
    ours = ibis.duckdb.connect().execute(expr).set_index("account_id").sort_index()
    age = (pd.Timestamp(as_of) - events["ts"].dt.floor("D")).dt.days
    last30, last7 = events[(age >= 0) & (age < 30)], events[(age >= 0) & (age < 7)]
    expected = pd.DataFrame(
        {
            "distinct_events_30d": last30.groupby("account_id")["name"].nunique(),
            "events_7d": last7.groupby("account_id").size(),
            "ev_login_30d": last30[last30["name"] == "login"].groupby("account_id").size(),
            "ev_report_30d": last30[last30["name"] == "report"].groupby("account_id").size(),
        }
    )
    expected = expected.reindex(ours.index).fillna(0)
    assert expected["distinct_events_30d"].max() > 3  # unlisted names are really counted
    for column in expected:
        np.testing.assert_array_equal(ours[column].to_numpy(), expected[column].to_numpy())
