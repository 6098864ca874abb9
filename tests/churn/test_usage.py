"""The one-day usage scan (churn/usage.py) equals an independent pandas count and the per-day
build that many as-of days use, column by column."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from tenure.churn import features
from tenure.churn.usage import day_usage

from .conftest import copy_book

AS_OF = date(2025, 3, 31)
NAMES = ["login", "report", "export", "rare a", "rare b", "rare c"]
LISTED = NAMES[:3]


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    """Return 30k events over 150 days (some after the cutoff), six names, nullable contacts."""
    rng = np.random.default_rng(7)
    n = 30_000
    seconds = rng.integers(0, 150 * 86_400, n)
    frame = pd.DataFrame(
        {
            "account_id": rng.integers(1, 200, n),
            "name": rng.choice(NAMES, n, p=[0.5, 0.3, 0.17, 0.01, 0.01, 0.01]),
            "contact_external_id": rng.choice(["c1", "c2", "c3", "c4", None], n),
            "ts": pd.Timestamp("2025-01-01") + pd.to_timedelta(seconds, unit="s"),
        }
    )
    # events exactly on the window edges: the cutoff (out) and the first instant in (in)
    edges = pd.DataFrame(
        {
            "account_id": [500, 500, 501],
            "name": ["login", "rare a", "export"],
            "contact_external_id": ["e1", "e2", None],
            "ts": pd.to_datetime(
                ["2025-04-01", "2025-01-01", "2025-03-31 23:59:59"], format="ISO8601"
            ),
        }
    )
    return pd.concat([frame, edges], ignore_index=True)


def pandas_usage(events: pd.DataFrame) -> pd.DataFrame:
    """Return the expected features by plain pandas group-bys over each window."""
    day = events["ts"].dt.floor("D")
    w = events.assign(day=day, age=(pd.Timestamp(AS_OF) - day).dt.days)
    w = w[(w.age >= 0) & (w.age < 90)]
    last7, last30, prev = w[w.age < 7], w[w.age < 30], w[(w.age >= 30) & (w.age < 60)]
    out = pd.DataFrame(
        {
            "events_7d": last7.groupby("account_id").size(),
            "events_30d": last30.groupby("account_id").size(),
            "events_prev_30d": prev.groupby("account_id").size(),
            "events_90d": w.groupby("account_id").size(),
            "active_days_30d": last30.groupby("account_id")["day"].nunique(),
            "active_days_90d": w.groupby("account_id")["day"].nunique(),
            "distinct_events_30d": last30.groupby("account_id")["name"].nunique(),
            "days_since_last_event": w.groupby("account_id")["age"].min(),
            "active_users_7d": last7.groupby("account_id")["contact_external_id"].nunique(),
            "active_users_30d": last30.groupby("account_id")["contact_external_id"].nunique(),
        }
    )
    for name in LISTED:
        stem = features.event_column(name)
        out[f"{stem}_30d"] = last30[last30.name == name].groupby("account_id").size()
        out[f"{stem}_prev"] = prev[prev.name == name].groupby("account_id").size()
    return out.fillna(0)


def run(expr) -> pd.DataFrame:
    return ibis.duckdb.connect().to_pyarrow(expr).to_pandas().set_index("account_id").sort_index()


def test_one_day_scan_matches_pandas(events: pd.DataFrame) -> None:
    """Every column equals the pandas count, including the unlisted names and the edges."""
    ours = run(day_usage(ibis.memtable(events), AS_OF, LISTED))
    expected = pandas_usage(events).reindex(ours.index)
    assert set(ours.index) == set(expected.dropna().index)
    assert (ours["as_of"] == AS_OF).all()
    assert expected["active_days_90d"].max() > 60  # the second day mask is really used
    assert expected["distinct_events_30d"].max() > len(LISTED)  # unlisted names are counted
    assert ours.loc[500, "events_90d"] == 1 and ours.loc[500, "days_since_last_event"] == 89
    assert ours.loc[501, "events_7d"] >= 1 and ours.loc[501, "days_since_last_event"] == 0
    assert sorted(expected.columns) == sorted(c for c in ours.columns if c != "as_of")
    for column in expected:
        np.testing.assert_array_equal(
            ours[column].to_numpy(np.int64), expected[column].to_numpy(np.int64), column
        )


def test_one_day_scan_equals_the_per_day_build(events: pd.DataFrame) -> None:
    """The many-day path (per-day table joined to a grid) gives the same numbers for the day."""
    table = ibis.memtable(events)
    cutoff = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time())
    grid = features.as_of_table([AS_OF])
    usage = run(features.usage_features(features.daily_events(table, cutoff), grid, LISTED))
    users = run(features.user_features(features.daily_active_users(table, cutoff), grid))
    per_day = usage.join(users.drop(columns="as_of")).fillna(0)
    ours = run(day_usage(table, AS_OF, LISTED))
    assert list(ours.index) == list(per_day.index)
    for column in per_day.columns.drop("as_of"):
        np.testing.assert_array_equal(
            ours[column].to_numpy(np.int64), per_day[column].to_numpy(np.int64), column
        )


def test_feature_table_is_the_same_built_alone_or_with_other_days(
    churn_book: Path, tmp_path: Path
) -> None:
    """A day's feature table from the one-day scan equals its rows in a two-day build."""
    from tenure.churn import snapshots
    from tenure.db.session import get_engine
    from tenure.warehouse.connection import open_warehouse

    settings = copy_book(churn_book, tmp_path)
    engine = get_engine(settings)
    day, earlier = date(2025, 3, 15), date(2025, 2, 28)
    with open_warehouse(settings) as warehouse:
        sources = snapshots.open_sources(warehouse, engine, settings)
        names = snapshots.event_names(warehouse.con, day)
        backend = sources.backend
        alone = backend.to_pyarrow(snapshots.build_features(sources, [day], names)).to_pandas()
        both = backend.to_pyarrow(
            snapshots.build_features(sources, [earlier, day], names)
        ).to_pandas()
    engine.dispose()
    both = both[both["as_of"] == day].reset_index(drop=True)
    assert len(alone) > 300 and alone["events_30d"].sum() > 0
    assert list(alone.columns) == list(both.columns)
    pd.testing.assert_frame_equal(alone, both, check_exact=False, rtol=1e-12)
