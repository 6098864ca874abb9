"""The metrics stage and `metrics summary` serve active accounts and logo cohorts without billing."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd
import pytest

from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.errors import NotFound
from tenure.metrics import serving
from tenure.metrics.months import month_text
from tenure.simulate import SimulationConfig, simulate
from tenure.web import overview

from .test_activity import SUB_SCHEMA, brute_presence

FIRST, LAST = 2025 * 12 + 1, 2025 * 12 + 5  # February … June 2025


@pytest.fixture(scope="module")
def unbilled(tmp_path_factory):
    """Simulate 60 accounts × 5 months to 2025-06-30, drop subscriptions and invoices, import."""
    root = tmp_path_factory.mktemp("unbilled")
    end = date(2025, 6, 30)
    simulate(SimulationConfig(accounts=60, months=5, seed=7, end=end), root / "sim")
    for kind in ("subscriptions", "invoices"):
        (root / "sim" / f"{kind}.csv").unlink()
    data = str(root / "data")
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["--data-dir", data, "import", "simulated", str(root / "sim")])
    assert result.exit_code in (0, 3), result.output
    return data


def expected_presence(data: str) -> set[tuple[int, int]]:
    """Return the brute-force (account, month) pairs counted under "auto" with no billing."""
    settings = Settings(data_dir=data)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    events = con.execute("SELECT account_id, ts FROM events").df()
    con.close()
    events["ts"] = pd.to_datetime(events.ts, utc=True).dt.tz_localize(None)
    subs = pd.DataFrame({k: pd.Series(dtype="int64") for k in SUB_SCHEMA})
    subs["started_at"] = pd.Series(dtype="datetime64[ns]")
    accounts = sorted(int(a) for a in events.account_id.unique())
    months = range(FIRST - 1, LAST + 1)
    return brute_presence(events, subs, "auto", 30, accounts=accounts, months=months)


def _run(cli, data, *args):
    result = cli.invoke(app, ["--data-dir", data, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_stage_stores_active_accounts_and_logo_cohorts_without_subscriptions(cli, unbilled):
    """Stored months and cohorts equal a month-by-month walk over the events."""
    out = _run(cli, unbilled, "pipeline", "run", "--as-of", "2025-06-30", "--only", "metrics",
               "--json")  # fmt: skip
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["last_month"] == "2025-06" and summary["months"] >= 5
    expected = expected_presence(unbilled)
    with session_scope(get_engine(Settings(data_dir=unbilled))) as session:
        months = {m["month"]: m for m in serving.stored_months(session)}
        cohorts = serving.stored_snapshot(session, "activity_cohorts")
    for month in range(FIRST, LAST + 1):
        row = months[month_text(month)]
        now = {a for a, m in expected if m == month}
        before = {a for a, m in expected if m == month - 1}
        assert row["active_accounts"] == len(now) > 0
        assert row["active_accounts_start"] == len(before)
        assert row["retained_accounts"] == len(now & before)
        assert row["logo_retention"] == round(len(now & before) / len(before), 4)
        assert row["mrr_end"] is None and row["nrr"] is None and row["customers_end"] is None
        assert row["churn_definition"] == "auto"
    first_month: dict[int, int] = {}
    for account, month in sorted(expected, key=lambda p: p[1]):
        first_month.setdefault(account, month)
    checked = 0
    for entry in cohorts["cohorts"]:
        c = int(entry["cohort"][:4]) * 12 + int(entry["cohort"][5:]) - 1
        if c < FIRST:
            continue  # cohorts before February need events the brute force did not walk
        members = [a for a, m in first_month.items() if m == c]
        assert entry["size"] == len(members)
        for k, accounts in enumerate(entry["accounts"]):
            assert accounts == sum((a, c + k) in expected for a in members)
            checked += 1
    assert checked >= 5
    with session_scope(get_engine(Settings(data_dir=unbilled))) as session:
        charted = overview.monthly_figures(db_session=session, settings=Settings(data_dir=unbilled))
    assert charted == []  # the dashboard charts MRR only: months without billing are left out
    engine = get_engine(Settings(data_dir=unbilled))
    with session_scope(engine) as session, pytest.raises(NotFound, match="cohorts"):
        serving.stored_snapshot(session, "cohorts")  # no MRR cohorts without billing


def test_summary_prints_active_accounts_and_says_what_needs_billing(cli, unbilled, frozen_clock):
    """`metrics summary` shows active accounts, logo retention and the billing note."""
    _run(cli, unbilled, "pipeline", "run", "--as-of", "2025-06-30", "--only", "metrics")
    printed = json.loads(_run(cli, unbilled, "metrics", "summary", "--month", "2025-05", "--json"))
    with session_scope(get_engine(Settings(data_dir=unbilled))) as session:
        stored = serving.stored_month(session, date(2025, 5, 1))
    assert printed == stored and printed["active_accounts"] > 0
    table = _run(cli, unbilled, "metrics", "summary", "--month", "2025-05")
    assert "active_accounts" in table and "logo_retention" in table
    assert "need billing" in table and f"{printed['active_accounts']:,}" in table


@pytest.mark.parametrize("kind", ["subscription", "inactivity"])
def test_with_subscriptions_activity_figures_follow_the_definition(
    cli, tmp_path, frozen_clock, monkeypatch, kind
):
    """A billed book: "inactivity" adds active accounts to the MRR figures, "subscription" not."""
    monkeypatch.setenv("TENURE_CHURN_DEFINITION", kind)
    data, out = str(tmp_path / "data"), tmp_path / "sim"
    simulate(SimulationConfig(accounts=60, months=4, seed=3, end=date(2025, 6, 30)), out)
    assert cli.invoke(app, ["--data-dir", data, "import", "simulated", str(out)]).exit_code in (
        0,
        3,
    )
    _run(cli, data, "pipeline", "run", "--as-of", "2025-06-30", "--only", "metrics")
    with session_scope(get_engine(Settings(data_dir=data))) as session:
        may = serving.stored_month(session, date(2025, 5, 1))
        has_activity = _stored(session, "activity_cohorts") is not None
    assert may["mrr_end"] > 0 and may["customers_end"] > 0
    if kind == "inactivity":
        assert may["active_accounts"] > 0 and may["churn_definition"] == "inactivity"
        assert has_activity
    else:
        assert "active_accounts" not in may and not has_activity


def _stored(session, name):
    try:
        return serving.stored_snapshot(session, name)
    except NotFound:
        return None
