"""MRR per account per day: boundary convention, currency, and a brute-force cross-check."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import pyarrow as pa

from tenure.cli.main import app
from tenure.metrics.currency import minor_unit_factors
from tenure.metrics.daily import daily_account_mrr, daily_totals

SCHEMA = pa.schema(
    [("account_id", pa.int64()), ("mrr", pa.int64()), ("currency", pa.string()),
     ("started_at", pa.timestamp("us")), ("ended_at", pa.timestamp("us"))]
)  # fmt: skip


def _table(rows):
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], SCHEMA)


def test_rows_count_at_the_last_instant_of_each_day():
    """A row ending at midnight after D counts on D; one starting then counts from D + 1."""
    table = _table(
        [
            (1, 10_000, "USD", datetime(2025, 3, 1), datetime(2025, 3, 3)),
            (1, 20_000, "USD", datetime(2025, 3, 3), None),
            (2, 5_000, "EUR", datetime(2025, 3, 2, 12), datetime(2025, 3, 2, 18)),
            (3, 0, "USD", datetime(2025, 3, 1), None),  # trial: never paying
        ]
    )
    days = [date(2025, 3, d) for d in (1, 2, 3)]
    rows = daily_account_mrr(table, days).to_pylist()
    assert [(r["account_id"], r["day"], r["mrr"]) for r in rows] == [
        (1, date(2025, 3, 1), 10_000),
        (1, date(2025, 3, 2), 10_000),
        (1, date(2025, 3, 3), 20_000),
    ]
    totals = daily_totals(daily_account_mrr(table, days), days, "USD")
    assert [(t["mrr"], t["customers"], t["arpa"]) for t in totals] == [
        (100.0, 1, 100.0), (100.0, 1, 100.0), (200.0, 1, 200.0)
    ]  # fmt: skip


def test_matches_a_brute_force_snapshot_with_currency_conversion():
    """Random rows in three currencies: equal to a plain-Python snapshot of every day."""
    rng = random.Random(8)
    base = datetime(2025, 1, 1)
    rows = []
    for _ in range(400):
        start = base + timedelta(hours=rng.randrange(0, 24 * 60))
        end = start + timedelta(hours=rng.randrange(1, 24 * 40)) if rng.random() < 0.6 else None
        rows.append((rng.randrange(40), rng.randrange(0, 90_000), rng.choice(["USD", "EUR", "GBP"]), start, end))  # fmt: skip
    days = [date(2025, 1, 1) + timedelta(days=k) for k in range(0, 70, 3)]
    got = {(r["account_id"], r["day"]): r["mrr"] for r in daily_account_mrr(_table(rows), days).to_pylist()}  # fmt: skip
    factors = minor_unit_factors(["USD", "EUR", "GBP"], "USD")
    expected: dict[tuple[int, date], int] = {}
    for day in days:
        t = datetime.combine(day + timedelta(days=1), datetime.min.time())
        for account, mrr, currency, start, end in rows:
            if start < t and (end is None or end >= t):
                key = (account, day)
                expected[key] = expected.get(key, 0) + int(mrr * factors[currency] + 0.5)
    assert got == {k: v for k, v in expected.items() if v > 0}


def test_cli_prints_days_and_refuses_bad_ranges(cli, tmp_path, frozen_clock):
    """`metrics mrr` on an empty book: zeros per day; bad ranges exit 2 with the reason."""
    data = str(tmp_path / "data")
    ok = cli.invoke(app, ["--data-dir", data, "metrics", "mrr", "--from", "2025-06-01", "--to", "2025-06-03", "--json"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert [d["customers"] for d in json.loads(ok.stdout)["days"]] == [0, 0, 0]
    bad = cli.invoke(app, ["--data-dir", data, "metrics", "mrr", "--from", "2025-06-03", "--to", "2025-06-01"])  # fmt: skip
    assert bad.exit_code == 2 and "before --from" in bad.output
    alone = cli.invoke(app, ["--data-dir", data, "metrics", "mrr", "--from", "2025-06-03"])
    assert alone.exit_code == 2 and "go together" in alone.output
    missing = cli.invoke(app, ["--data-dir", data, "metrics", "mrr", "--account", "nope"])
    assert missing.exit_code == 4 and "nope" in missing.output
