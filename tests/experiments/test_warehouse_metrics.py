"""Warehouse metric summaries against a brute-force pandas computation on a small random book."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest

from tenure.experiments.definitions import load_definitions, parse_definitions
from tenure.experiments.warehouse import MetricSources, cutoff_of, variant_summaries

AS_OF = date(2025, 6, 30)
ORIGIN = datetime(2025, 1, 1)
NAMES = ("login", "report_viewed", "export_run", "report viewed")
EXTRA = """
[[metric]]
name = "clicked_14d"
kind = "binary"
source = "event_count(export_run)"
window_days = 14
pre_window_days = 14

[[metric]]
name = "logins_per_mrr_45d"
kind = "ratio"
source = "event_count(login)"
denominator = "mrr"
window_days = 45

[[metric]]
name = "report_views_spaced_10d"
kind = "mean"
source = "event_count(report viewed)"
window_days = 10

[[metric]]
name = "report_views_10d"
kind = "mean"
source = "event_count(report_viewed)"
window_days = 10

[[metric]]
name = "days_per_active_day"
kind = "ratio"
source = "events"
denominator = "active_days"
window_days = 20
"""


def random_book(seed: int = 5, accounts: int = 60) -> dict[str, pd.DataFrame]:
    """Return exposures, subscriptions, events and tickets with churns, seat changes, gaps."""
    rng = np.random.default_rng(seed)
    hours = lambda n, hi: pd.to_timedelta(rng.integers(0, hi * 24, n), unit="h")  # noqa: E731
    subs = []
    for a in range(1, accounts + 1):
        start = ORIGIN + hours(1, 60)[0]
        change = start + hours(1, 100)[0] + timedelta(days=1)
        end = change + hours(1, 120)[0] + timedelta(days=1)
        subs.append((a, 100 * rng.integers(1, 9), rng.integers(1, 20), start, change))
        closed = rng.random() < 0.5
        subs.append(
            (a, 100 * rng.integers(1, 9), rng.integers(1, 20), change, end if closed else None)
        )
        if rng.random() < 0.2:
            subs.append((a, 0, 1, start, None))  # a free row never counts
    subscriptions = pd.DataFrame(
        subs, columns=["account_id", "mrr", "quantity", "started_at", "ended_at"]
    )
    n_ev = 6000
    events = pd.DataFrame(
        {
            "account_id": rng.integers(1, accounts + 1, n_ev),
            "name": rng.choice(NAMES, n_ev),
            "ts": ORIGIN + hours(n_ev, 200),
        }
    )
    tickets = pd.DataFrame(
        {"account_id": rng.integers(1, accounts + 1, 400), "opened_at": ORIGIN + hours(400, 200)}
    )
    exposed = pd.DataFrame(
        {
            "unit_id": np.arange(1, accounts + 1),
            "variant": rng.choice(["control", "treatment", "b"], accounts),
            "first_exposed_at": ORIGIN + timedelta(days=40) + hours(accounts, 140),
        }
    )
    return {
        "exposures": exposed,
        "subscriptions": subscriptions,
        "events": events,
        "tickets": tickets,
    }


def mrr_at(subs: pd.DataFrame, account: int, instant: datetime, column: str = "mrr") -> float:
    """Return the paying MRR (or seats) in force just before instant, by the documented rule."""
    s = subs[(subs.account_id == account) & (subs.mrr > 0)]
    live = (s.started_at < instant) & (s.ended_at.isna() | (s.ended_at >= instant))
    return float(s[live][column].sum())


def churn_times(subs: pd.DataFrame, account: int) -> list[datetime]:
    """Return the ends of paying rows that no other paying row covers."""
    s = subs[(subs.account_id == account) & (subs.mrr > 0)]
    out = []
    for end in s.ended_at.dropna():
        covered = (s.started_at <= end) & (s.ended_at.isna() | (s.ended_at > end))
        if not covered.any():
            out.append(end)
    return out


def source_value(book, kind, event, account, lo, hi, cutoff) -> float:
    """Return one source over [lo, hi) (lo == hi: at lo) for one account, by brute force."""
    ev = book["events"]
    ev = ev[(ev.account_id == account) & (ev.ts >= lo) & (ev.ts < hi) & (ev.ts < cutoff)]
    subs = book["subscriptions"]
    if kind == "events":
        return len(ev)
    if kind == "event_count":
        return int((ev.name == event).sum())
    if kind == "active_days":
        return ev.ts.dt.floor("D").nunique()
    if kind == "tickets":
        t = book["tickets"]
        return int(((t.account_id == account) & (t.opened_at >= lo) & (t.opened_at < hi)).sum())
    if kind == "churned":
        return float(any(lo <= c < hi for c in churn_times(subs, account)))
    if kind == "renewed":
        return float(mrr_at(subs, account, hi) > 0)
    if kind == "upgraded":
        return float(mrr_at(subs, account, hi) > mrr_at(subs, account, lo))
    if kind == "mrr_change":
        return mrr_at(subs, account, hi) - mrr_at(subs, account, lo)
    return mrr_at(subs, account, lo, "mrr" if kind == "mrr" else "quantity")


def brute_force(book, definition, variant) -> dict[str, float]:
    """Return the sufficient statistics of one metric in one variant, one unit at a time."""
    cutoff = cutoff_of(AS_OF)
    d = definition
    rows = []
    units = book["exposures"][book["exposures"].variant == variant]
    for unit, exposed in zip(units.unit_id, units.first_exposed_at, strict=True):
        end = exposed + timedelta(days=d.window_days)
        if end > cutoff:
            continue
        x = source_value(book, d.source.kind, d.source.event, unit, exposed, end, cutoff)
        if d.kind == "binary" and d.source.is_count:
            x = float(x > 0)
        row = {"x": x}
        if d.pre_window_days:
            lo = exposed - timedelta(days=d.pre_window_days)
            pre = source_value(book, d.source.kind, d.source.event, unit, lo, exposed, cutoff)
            row["pre"] = float(pre > 0) if d.kind == "binary" and d.source.is_count else pre
        if d.denominator is not None:
            point = d.denominator.kind in ("mrr", "seats")
            hi = exposed if point else end
            row["den"] = source_value(book, d.denominator.kind, None, unit, exposed, hi, cutoff)
        rows.append(row)
    f = pd.DataFrame(rows, columns=["x", "pre", "den"], dtype=float)
    out = {"n": len(f), "sum": f.x.sum(), "sum_squares": (f.x**2).sum()}
    for name, col in (("pre", "pre"), ("denominator", "den")):
        if f[col].notna().any():
            out[f"{name}_sum"] = f[col].sum()
            out[f"{name}_sum_squares"] = (f[col] ** 2).sum()
            out[f"{name}_cross_sum"] = (f.x * f[col]).sum()
    return out


@pytest.fixture(scope="module")
def book() -> dict[str, pd.DataFrame]:
    return random_book()


@pytest.fixture(scope="module")
def summaries(book):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, frame in book.items():
        con.register(name, frame)
    con.execute("CREATE TABLE ev AS SELECT account_id, name, ts::TIMESTAMPTZ AS ts FROM events")
    db = ibis.duckdb.from_connection(con)
    sources = MetricSources(
        events=db.table("ev"), subscriptions=db.table("subscriptions"), tickets=db.table("tickets")
    )
    definitions = load_definitions() + parse_definitions(EXTRA, origin="test")
    return definitions, variant_summaries(db.table("exposures"), sources, definitions, AS_OF)


def test_every_metric_and_variant_matches_brute_force(book, summaries):
    definitions, result = summaries
    assert set(result) == {d.name for d in definitions}
    checked = 0
    for d in definitions:
        assert set(result[d.name]) == {"b", "control", "treatment"}
        for variant, summary in result[d.name].items():
            expected = brute_force(book, d, variant)
            for field, value in expected.items():
                assert getattr(summary, field) == pytest.approx(value), (d.name, variant, field)
                checked += 1
    assert checked > 100


def test_partial_windows_are_left_out(book, summaries):
    _, result = summaries
    exposed = book["exposures"].first_exposed_at
    for name, days in (("churn_30d", 30), ("churn_90d", 90)):
        complete = int((exposed + timedelta(days=days) <= cutoff_of(AS_OF)).sum())
        assert sum(s.n for s in result[name].values()) == complete
    # Some units are in the 30-day metric but not yet in the 90-day one.
    assert sum(s.n for s in result["churn_90d"].values()) < sum(
        s.n for s in result["churn_30d"].values()
    )


def test_metrics_are_not_degenerate(summaries):
    _, result = summaries
    total = lambda name, f: sum(getattr(s, f) for s in result[name].values())  # noqa: E731
    assert 0 < total("churn_90d", "sum") < total("churn_90d", "n")
    assert total("mrr_change_90d", "sum_squares") > 0
    assert total("events_per_seat_30d", "denominator_sum") > 0
    assert total("logins_30d", "pre_cross_sum") > 0
