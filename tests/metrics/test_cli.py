"""`tenure metrics` end to end on a small simulated book, cross-checked against pandas."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from tenure.cli import metrics
from tenure.cli.main import app
from tenure.metrics.currency import minor_unit_factors
from tenure.metrics.months import month_range, month_text, parse_month

KEYS = {
    "mrr_start", "mrr_end", "new", "expansion", "contraction", "churn", "reactivation",
    "customers_start", "customers_end", "logo_churn_rate", "gross_mrr_churn_rate",
    "net_mrr_churn_rate", "grr", "nrr", "arpa", "ltv", "quick_ratio", "month", "currency",
}  # fmt: skip
MOVES = ("new", "expansion", "contraction", "churn", "reactivation")


@pytest.fixture
def metrics_cli(cli):
    """Return the CLI runner with the metrics group registered (idempotently)."""
    names = {group.name for group in app.registered_groups}
    if "metrics" not in names:
        metrics.register(app)
    return cli


@pytest.fixture
def book(metrics_cli, tmp_path, frozen_clock):
    """Simulate 200 accounts × 4 months, import them; return (data dir, simulator dir)."""
    data, out = str(tmp_path / "data"), tmp_path / "sim"
    args = ["simulate", "--accounts", "200", "--months", "4", "--seed", "3", "--out", str(out),
            "--end", "2025-06-30"]  # fmt: skip
    assert metrics_cli.invoke(app, args).exit_code == 0
    imported = metrics_cli.invoke(app, ["--data-dir", data, "import", "simulated", str(out)])
    assert imported.exit_code == 0, imported.output
    return data, out


def pandas_bridge(path, months):
    """Independent bridge: snapshot every month since the first row, classify in pandas."""
    subs = pd.read_csv(path, parse_dates=["started_at", "ended_at"])
    factors = minor_unit_factors(subs["currency"].unique(), "USD")
    cents = (subs["mrr"] * 100).round().astype("int64")
    subs["usd"] = np.floor(cents * subs["currency"].map(factors) + 0.5).astype("int64")
    first = subs["started_at"].min()
    history = month_range(first.year * 12 + first.month - 2, months[-1])
    snaps = {}
    for m in history:
        t = pd.Timestamp(year=(m + 1) // 12, month=(m + 1) % 12 + 1, day=1, tz="UTC")
        live = subs[(subs["started_at"] < t) & (subs["ended_at"].isna() | (subs["ended_at"] >= t))]
        snaps[m] = live.groupby("account_id")["usd"].sum()
    grid = pd.DataFrame(snaps).fillna(0).astype("int64")
    rows = {}
    for m in months:
        start, end = grid[m - 1], grid[m]
        before = (grid.loc[:, : m - 1] > 0).any(axis=1)
        arrives = (start == 0) & (end > 0)
        rows[month_text(m)] = {
            "mrr_start": start.sum(), "mrr_end": end.sum(),
            "new": end[arrives & ~before].sum(), "reactivation": end[arrives & before].sum(),
            "expansion": (end - start)[(start > 0) & (end > start)].sum(),
            "contraction": (start - end)[(end > 0) & (end < start)].sum(),
            "churn": start[(start > 0) & (end == 0)].sum(),
            "customers_start": int((start > 0).sum()), "customers_end": int((end > 0).sum()),
        }  # fmt: skip
    return rows


def test_summary_json_has_every_key_and_reconciles(metrics_cli, book):
    data, _ = book
    result = metrics_cli.invoke(app, ["--data-dir", data, "metrics", "summary", "--month",
                                      "2025-05", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) >= KEYS
    assert body["month"] == "2025-05" and body["currency"] == "USD"
    assert body["customers_end"] > 0
    bridge = body["mrr_start"] + body["new"] + body["expansion"] + body["reactivation"]
    assert round(bridge - body["contraction"] - body["churn"], 2) == body["mrr_end"]


def test_movements_reconcile_every_month_and_match_pandas(metrics_cli, book, tmp_path):
    data, out = book
    target = tmp_path / "moves.csv"
    result = metrics_cli.invoke(app, ["--data-dir", data, "metrics", "movements", "--from",
                                      "2025-01", "--to", "2025-06", "--csv", str(target)])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(target.open()))
    assert [r["month"] for r in rows] == [f"2025-0{m}" for m in range(1, 7)]
    reference = pandas_bridge(
        out / "subscriptions.csv", month_range(*map(parse_month, ("2025-01", "2025-06")))
    )
    for row in rows:
        cents = {k: round(float(row[k]) * 100) for k in ("mrr_start", "mrr_end", *MOVES)}
        assert cents["mrr_start"] + cents["new"] + cents["expansion"] + cents["reactivation"] \
            - cents["contraction"] - cents["churn"] == cents["mrr_end"]  # fmt: skip
        expected = reference[row["month"]]
        assert cents == {k: expected[k] for k in cents}, row["month"]
        assert int(row["customers_end"]) == expected["customers_end"]
    assert sum(float(r["churn"]) for r in rows) > 0


def test_movements_table_on_stdout(metrics_cli, book):
    data, _ = book
    result = metrics_cli.invoke(app, ["--data-dir", data, "metrics", "movements", "--from",
                                      "2025-04", "--to", "2025-06"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2025-06" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["summary", "--month", "2025-13"],
        ["summary", "--month", "May 2025"],
        ["movements", "--from", "2025-06", "--to", "2025-01"],
        ["movements", "--from", "2025-1", "--to", "2025-06"],
    ],
)
def test_bad_month_text_exits_2_with_a_clear_message(metrics_cli, tmp_path, args):
    result = metrics_cli.invoke(app, ["--data-dir", str(tmp_path / "d"), "metrics", *args])
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output or "before" in result.output
