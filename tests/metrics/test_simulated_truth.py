"""On simulated data, `metrics movements` matches the simulator's own month-end MRR (issue 4 §4).

The ground truth is read from the simulator's engine state, not from the files it writes:
after the last simulated day of each month (and after `begin`, for the month before the
window) every account that is active contributes its current seats × seat price (× the annual
discount) — `Billing.mrr(account, seats)`. All of a day's changes (signups, seat changes,
churn, reactivations) happen inside that day, so the state after the month's last day is the
MRR at the last instant of the month, which is the month-end snapshot `metrics` defines.
The truth is converted to USD with the same fixed rates and the same per-row rounding
(half up to the cent) that `subscriptions_in_reporting_currency` uses; an account has one
open subscription row at a time, so converting per account equals converting per row.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime

import numpy as np
import pytest

from tenure.cli.main import app
from tenure.clock import FrozenClock, use_clock
from tenure.metrics.currency import minor_unit_factors
from tenure.metrics.months import month_text
from tenure.simulate import SimulationConfig, simulate
from tenure.simulate import catalog as cat
from tenure.simulate.engine import World

END = date(2025, 7, 1)  # six whole months: 2025-01-01 … 2025-06-30 are simulated
MONTHS = [f"2025-0{m}" for m in range(1, 7)]


def month_end_truth(world: World) -> tuple[int, int]:
    """Return the active accounts' total MRR now in USD cents, and how many of them pay."""
    active = np.flatnonzero(world.active)
    billing = world.sinks.billing
    mrr = billing.mrr(active, billing.seats[active])
    currencies = np.asarray(cat.CURRENCIES)[world.pop.currency[active]]
    factors = minor_unit_factors(cat.CURRENCIES, "USD")
    factor = np.array([factors[c] for c in currencies], dtype=np.float64)
    cents = np.floor(mrr.astype(np.float64) * factor + 0.5).astype(np.int64)
    return int(cents.sum()), int((cents > 0).sum())


@pytest.fixture
def truth_book(cli, tmp_path, monkeypatch):
    """Simulate 300 accounts × 6 months recording month-end MRR; import; return (dir, truth)."""
    truth: dict[str, tuple[int, int]] = {}
    begin, step = World.begin, World.step

    def recording_begin(world: World) -> None:
        begin(world)
        truth[month_text(_month_index(world.config.start) - 1)] = month_end_truth(world)

    def recording_step(world: World, day: int) -> None:
        step(world, day)
        today = world.config.start.toordinal() + day
        if date.fromordinal(today + 1).day == 1:
            truth[month_text(_month_index(date.fromordinal(today)))] = month_end_truth(world)

    monkeypatch.setattr(World, "begin", recording_begin)
    monkeypatch.setattr(World, "step", recording_step)
    out = tmp_path / "sim"
    simulate(SimulationConfig(accounts=300, months=6, seed=19, end=END), out)
    monkeypatch.undo()
    data = str(tmp_path / "data")
    with use_clock(FrozenClock(datetime(2025, 7, 15, 12, 0, tzinfo=UTC))):
        imported = cli.invoke(app, ["--data-dir", data, "import", "simulated", str(out)])
    assert imported.exit_code == 0, imported.output
    return data, truth


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def test_movements_match_the_simulators_month_end_mrr_to_the_cent(cli, truth_book, tmp_path):
    data, truth = truth_book
    assert sorted(truth) == ["2024-12", *MONTHS]
    target = tmp_path / "moves.csv"
    result = cli.invoke(app, ["--data-dir", data, "metrics", "movements", "--from", MONTHS[0],
                              "--to", MONTHS[-1], "--csv", str(target)])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(target.open()))
    assert [r["month"] for r in rows] == MONTHS
    got = {r["month"]: (round(float(r["mrr_end"]) * 100), int(r["customers_end"])) for r in rows}
    assert got == {m: truth[m] for m in MONTHS}
    assert (round(float(rows[0]["mrr_start"]) * 100), int(rows[0]["customers_start"])) == truth[
        "2024-12"
    ]
    changes = defaultdict(int)
    for row in rows:
        for key in ("new", "churn", "expansion", "contraction"):
            changes[key] += float(row[key]) > 0
    assert all(changes.values()), changes  # the book exercises every movement kind
