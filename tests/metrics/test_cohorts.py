"""Signup-cohort retention matrices: a hand-computed book, invariants, and the CLI end to end."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure.analysis.render import cohorts_html
from tenure.cli.main import app
from tenure.metrics.cohorts import (
    CSV_FIELDS,
    cohort_cells,
    csv_rows,
    retention_matrix,
)
from tenure.metrics.currency import minor_unit_factors
from tenure.metrics.months import month_range, month_text, parse_month
from tenure.metrics.movements import monthly_movements, subscriptions_table

JAN, APR = parse_month("2025-01"), parse_month("2025-04")


def at(month: int, day: int) -> datetime:
    """Return 2025-month-day 12:00 UTC (month 0 is December 2024)."""
    if month == 0:
        return datetime(2024, 12, day, 12, tzinfo=UTC)
    return datetime(2025, month, day, 12, tzinfo=UTC)


def sub(account, mrr, start, end=None, currency="USD"):
    """Return one subscription record."""
    return {"account_id": account, "mrr": mrr, "currency": currency, "started_at": start,
            "ended_at": end}  # fmt: skip


BOOK = [
    sub(1, 10_000, at(1, 10), at(3, 15)), sub(1, 15_000, at(3, 15)),  # expands in March
    sub(2, 20_000, at(1, 5), at(2, 20)),  # churns in February
    sub(3, 8_000, at(2, 3), at(3, 10)), sub(3, 10_000, at(4, 2)),  # reactivates in April
    sub(4, 0, at(1, 20), at(2, 14)), sub(4, 12_000, at(2, 14), at(4, 5)),  # trial, then paid
    sub(4, 9_000, at(4, 5)),  # contracts in April
    sub(5, 5_000, at(0, 5)),  # paying since December 2024: not in the January–April cohorts
]  # fmt: skip


def book_report():
    """Return the retention matrix of BOOK, signup cohorts January … April 2025."""
    return retention_matrix(cohort_cells(subscriptions_table(BOOK), JAN, APR))


def test_hand_computed_matrices():
    """Month-end MRR (minor units), observed through April:

    account   Jan      Feb      Mar      Apr      cohort
    1         10,000   10,000   15,000   15,000   Jan (expansion in Mar)
    2         20,000   0        0        0        Jan (churn in Feb)
    3         0        8,000    0        10,000   Feb (churn in Mar, reactivation in Apr)
    4         0 trial  12,000   12,000   9,000    Feb (trial ends in Feb, contraction in Apr)
    5         5,000 …                             Dec 2024 (outside the cohorts asked for)

    January cohort, size 2, MRR₀ = 30,000:
      logo   2/2, 1/2, 1/2, 1/2
      net    30/30, 10/30, 15/30, 15/30
      gross  30/30, min(10,10)+min(0,20) = 10/30, min(15,10)+0 = 10/30, 10/30
    February cohort, size 2, MRR₀ = 20,000:
      logo   2/2, 1/2, 2/2
      net    20/20, 12/20, (10 + 9)/20 = 19/20
      gross  20/20, min(0,8)+min(12,12) = 12/20, min(10,8)+min(9,12) = 17/20
    March and April: no account's first paid month-end, so no cohort rows.
    """
    report = book_report()
    assert report["months_since"] == [0, 1, 2, 3]
    assert report["currency"] == "USD"
    jan, feb = report["cohorts"]
    assert jan == {
        "cohort": "2025-01", "size": 2, "mrr0": 300.0, "accounts": [2, 1, 1, 1],
        "logo": [1.0, 1 / 2, 1 / 2, 1 / 2],
        "net_mrr": [1.0, 10 / 30, 15 / 30, 15 / 30],
        "gross_mrr": [1.0, 10 / 30, 10 / 30, 10 / 30],
    }  # fmt: skip
    assert feb == {
        "cohort": "2025-02", "size": 2, "mrr0": 200.0, "accounts": [2, 1, 2],
        "logo": [1.0, 1 / 2, 1.0],
        "net_mrr": [1.0, 12 / 20, 19 / 20],
        "gross_mrr": [1.0, 12 / 20, 17 / 20],
    }  # fmt: skip


def test_gross_is_below_net_when_a_cohort_expands():
    jan = book_report()["cohorts"][0]
    assert jan["gross_mrr"][2] < jan["net_mrr"][2]  # account 1's March expansion


def test_csv_rows_are_long_format():
    rows = csv_rows(book_report())
    assert len(rows) == 4 + 3 and set(rows[0]) == set(CSV_FIELDS)
    assert rows[5] == {"cohort": "2025-02", "months_since": 1, "accounts": 1,
                       "logo_retention": 0.5, "net_mrr_retention": 0.6,
                       "gross_mrr_retention": 0.6}  # fmt: skip


def test_html_is_a_self_contained_heat_map():
    page = cohorts_html(book_report())
    # Self-contained: Plotly.js is inline, nothing is loaded from elsewhere.
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", page)
    assert page.count('class="chart h-md"') == 3
    assert page.count("<table>") == 3 and "background:hsl(" in page and "95%" in page


def test_no_paying_accounts_gives_an_empty_report():
    report = retention_matrix(cohort_cells(subscriptions_table([sub(1, 0, at(1, 3))]), JAN, APR))
    assert report["cohorts"] == [] and report["months_since"] == []


def check_invariants(report):
    """Month 0 is 100 %, logo and gross never exceed 100 %, gross never exceeds net."""
    for entry in report["cohorts"]:
        assert entry["logo"][0] == entry["net_mrr"][0] == entry["gross_mrr"][0] == 1.0
        assert entry["accounts"][0] == entry["size"]
        for logo, net, gross in zip(entry["logo"], entry["net_mrr"], entry["gross_mrr"],
                                    strict=True):  # fmt: skip
            assert 0 <= logo <= 1 and 0 <= gross <= 1 and gross <= net


def test_invariants_on_the_hand_book():
    check_invariants(book_report())


ORIGIN = datetime(2024, 10, 1, tzinfo=UTC)
OCT = parse_month("2024-10")


@st.composite
def subscription(draw):
    """Draw one subscription row in the seven months from October 2024 (some at midnight)."""
    start = draw(st.one_of(st.integers(0, 24 * 210), st.sampled_from([0, 24 * 31, 24 * 92])))
    length = draw(st.one_of(st.none(), st.integers(0, 24 * 150)))
    return {
        "account_id": draw(st.integers(1, 6)),
        "mrr": draw(st.one_of(st.just(0), st.integers(1, 100_000))),
        "currency": draw(st.sampled_from(["USD", "EUR", "GBP"])),
        "started_at": ORIGIN + timedelta(hours=start),
        "ended_at": None if length is None else ORIGIN + timedelta(hours=start + length),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(subscription(), max_size=20))
def test_cohorts_add_up_to_the_movements(records):
    """Cohorts from the first month partition the book: their cells sum to the bridge."""
    table = subscriptions_table(records)
    cells = cohort_cells(table, OCT, APR)
    check_invariants(retention_matrix(cells))
    for month in monthly_movements(table, month_range(OCT, APR)):
        at_month = [c for c in cells if c.cohort + c.months_since == month.month]
        assert sum(c.mrr for c in at_month) == month.mrr_end
        assert sum(c.accounts for c in at_month) == month.customers_end
        signed_up = [c for c in at_month if c.months_since == 0]
        assert sum(c.mrr0 for c in signed_up) == month.new
        assert sum(c.size for c in signed_up) == month.new_customers


@pytest.fixture
def book_dir(cli, tmp_path, frozen_clock):
    """Simulate 200 accounts × 6 months, import them; return the data dir."""
    data, out = str(tmp_path / "data"), tmp_path / "sim"
    args = ["simulate", "--accounts", "200", "--months", "6", "--seed", "3", "--out", str(out),
            "--end", "2025-06-30"]  # fmt: skip
    assert cli.invoke(app, args).exit_code == 0
    imported = cli.invoke(app, ["--data-dir", data, "import", "simulated", str(out)])
    assert imported.exit_code == 0, imported.output
    return data, out


def pandas_cohorts(path, first, last):
    """Independent matrix: month-end snapshots in pandas since the first row, then cohorts."""
    subs = pd.read_csv(path, parse_dates=["started_at", "ended_at"])
    factors = minor_unit_factors(subs["currency"].unique(), "USD")
    cents = (subs["mrr"] * 100).round().astype("int64")
    subs["usd"] = np.floor(cents * subs["currency"].map(factors) + 0.5).astype("int64")
    begin = subs["started_at"].min()
    snaps = {}
    for m in month_range(begin.year * 12 + begin.month - 1, last):
        t = pd.Timestamp(year=(m + 1) // 12, month=(m + 1) % 12 + 1, day=1, tz="UTC")
        live = subs[(subs["started_at"] < t) & (subs["ended_at"].isna() | (subs["ended_at"] >= t))]
        snaps[m] = live.groupby("account_id")["usd"].sum()
    grid = pd.DataFrame(snaps).fillna(0).astype("int64")
    cohort = (grid > 0).idxmax(axis=1)[(grid > 0).any(axis=1)]
    cohorts = []
    for c in range(first, last + 1):
        members = grid.loc[cohort.index[cohort == c]]
        if members.empty:
            continue
        m0 = members[c]
        ks = range(last - c + 1)
        cohorts.append({
            "cohort": month_text(c), "size": len(members), "mrr0": int(m0.sum()) / 100,
            "accounts": [int((members[c + k] > 0).sum()) for k in ks],
            "logo": [int((members[c + k] > 0).sum()) / len(members) for k in ks],
            "net_mrr": [int(members[c + k].sum()) / int(m0.sum()) for k in ks],
            "gross_mrr": [int(np.minimum(members[c + k], m0).sum()) / int(m0.sum()) for k in ks],
        })  # fmt: skip
    return cohorts


def test_cli_json_csv_and_html(cli, book_dir, tmp_path):
    book_dir, sim = book_dir
    target, page = tmp_path / "cells.csv", tmp_path / "out" / "cohorts.html"
    result = cli.invoke(app, ["--data-dir", book_dir, "analyze", "cohorts", "--from", "2025-01",
                              "--to", "2025-06", "--json", "--csv", str(target), "--html",
                              str(page)])  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["from"] == "2025-01" and body["to"] == "2025-06" and body["currency"] == "USD"
    assert body["months_since"] == list(range(6))
    assert [e["cohort"] for e in body["cohorts"]] == [f"2025-0{m}" for m in range(1, 7)]
    for i, entry in enumerate(body["cohorts"]):
        assert set(entry) == {"cohort", "size", "mrr0", "accounts", "logo", "net_mrr",
                              "gross_mrr"}  # fmt: skip
        assert len(entry["logo"]) == len(entry["net_mrr"]) == len(entry["gross_mrr"]) == 6 - i
        assert entry["size"] > 0 and entry["mrr0"] > 0
    check_invariants(body)
    assert body["cohorts"] == pandas_cohorts(
        sim / "subscriptions.csv", *map(parse_month, ("2025-01", "2025-06"))
    )
    rows = list(csv.DictReader(target.open()))
    assert tuple(rows[0]) == CSV_FIELDS and len(rows) == sum(range(1, 7))
    text = page.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", text)
    assert 'id="chart-cohorts-logo"' in text


@pytest.mark.parametrize("by, title", [("logo", "Logo retention"), ("mrr", "Gross MRR")])
def test_cli_table_on_stdout(cli, book_dir, by, title):
    book_dir, _ = book_dir
    result = cli.invoke(app, ["--data-dir", book_dir, "analyze", "cohorts", "--by", by,
                              "--from", "2025-04", "--to", "2025-06"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert title in result.stdout and "2025-04" in result.stdout and "100%" in result.stdout


@pytest.mark.parametrize(
    "args", [["--by", "seats"], ["--from", "2025-06", "--to", "2025-01"], ["--to", "June"]]
)
def test_bad_options_exit_2(cli, tmp_path, args):
    result = cli.invoke(app, ["--data-dir", str(tmp_path / "d"), "analyze", "cohorts", *args])
    assert result.exit_code == 2, result.output
