"""Experiment metrics in the warehouse: per-unit values from exposure, summed per variant.

Every window is relative to a unit's first exposure E (naive UTC timestamp): the metric reads
[E, E + window), its CUPED covariate [E − pre_window, E). The analysis date D is complete, so
the cutoff is T = D + 1 day 00:00 UTC and nothing at or after T is read.

Partial windows: a unit counts for a metric only once E + window ≤ T. Until then it is left
out of that metric (its n is smaller), never counted with a truncated window, because a short
window would bias a churn or count metric towards zero. Units exposed at or after T are ignored.

The work is one Ibis expression: per-unit sums from events, tickets, churn events and MRR in
force (each one grouped join), joined on the unit, then ONE aggregate per variant that yields
n, Σx, Σx², Σpre, Σpre², Σx·pre, Σden, Σden², Σx·den of every metric at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from tenure.accounts.mrr import in_force
from tenure.churn.labels import churn_events
from tenure.experiments.definitions import MetricDefinition, Source
from tenure.experiments.schemas import MetricKind, MetricSummary

if TYPE_CHECKING:
    pass

US_PER_DAY = 86_400_000_000
EVENT_SOURCES = ("events", "event_count", "active_days")
MRR_SOURCES = ("renewed", "upgraded", "mrr_change", "mrr", "seats")


@dataclass(frozen=True)
class MetricSources:
    """The tables metrics read: events (account_id, name, ts), subscriptions (account_id,
    mrr in reporting minor units, quantity, started_at, ended_at) and tickets (account_id,
    opened_at); timestamps naive UTC except events.ts, which may be aware."""

    events: ir.Table
    subscriptions: ir.Table
    tickets: ir.Table


@dataclass(frozen=True)
class Measure:
    """One per-unit quantity: a source over [E + start, E + end) days (start = end: at E)."""

    source: Source
    start: int
    end: int

    @property
    def column(self) -> str:
        """Return a stable column name for the measure (event names by digest: "a b" ≠ "a_b")."""
        event = self.source.event
        tag = hashlib.sha1(event.encode()).hexdigest()[:10] if event is not None else ""
        return f"m_{self.source.kind}_{tag}_{self.start}_{self.end}".replace("-", "n")


def cutoff_of(as_of: date) -> datetime:
    """Return T, the first instant after the analysis day (naive UTC)."""
    return datetime.combine(as_of + timedelta(days=1), time())


def metric_measures(d: MetricDefinition) -> tuple[Measure, Measure | None, Measure | None]:
    """Return the value, pre-period and denominator measures of a definition."""
    value = Measure(d.source, 0, d.window_days)
    pre = Measure(d.source, -d.pre_window_days, 0) if d.pre_window_days else None
    den = None
    if d.denominator is not None:
        point = d.denominator.kind in ("mrr", "seats")
        den = Measure(d.denominator, 0, 0 if point else d.window_days)
    return value, pre, den


def _at(exposed: ir.Value, days: int) -> ir.Value:
    return exposed + ibis.interval(days=days) if days else exposed


def _inside(ts: ir.Value, exposed: ir.Value, m: Measure) -> ir.BooleanValue:
    return (ts >= _at(exposed, m.start)) & (ts < _at(exposed, m.end))


def _span(measures: Sequence[Measure]) -> tuple[int, int]:
    return min(m.start for m in measures), max(m.end for m in measures)


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts) -> dt.int64:  # type: ignore[empty-body]
    """Return microseconds since 1970 (DuckDB's EPOCH_US: no time-zone conversion, cheap)."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(ts) -> dt.int64:  # type: ignore[empty-body]
    """Return microseconds since 1970 (Spark's UNIX_MICROS; the session time zone is UTC)."""


def epoch_us(table: ir.Table, ts: ir.TimestampValue, backend: Any = None) -> ir.IntegerValue:
    """Return ts as epoch microseconds: exact on DuckDB and Spark, to the second elsewhere."""
    name = (backend or table.get_backend()).name
    if name == "duckdb":
        return _duckdb_epoch_us(ts)
    if name == "pyspark":  # naive UTC: read as UTC, the session time zone
        return _spark_unix_micros(ts.cast(dt.Timestamp(timezone="UTC")))
    return ts.epoch_seconds().cast("int64") * 1_000_000


def _run(expr: ir.Expr, backend: Any = None) -> Any:
    """Return an expression's Arrow result, on backend when given (else its own backend)."""
    return expr.to_pyarrow() if backend is None else backend.to_pyarrow(expr)


def event_sums(
    units: ir.Table,
    events: ir.Table,
    measures: list[Measure],
    cutoff: datetime,
    backend: Any = None,
):
    """Return unit_id and one column per event measure (counts, or distinct active days).

    Events are compared in epoch microseconds: casting a TIMESTAMPTZ column to TIMESTAMP goes
    through ICU and cost 2 s per 1.4 M events, the integer comparison next to nothing. The raw
    ts is filtered against literals first, so DuckDB's zone maps prune the time-ordered table.
    """
    lo, hi = _span(measures)
    first = _run(units.exposed_at.min(), backend).as_py()
    raw = events.filter(events.ts < cutoff)
    if first is not None:
        raw = raw.filter(raw.ts >= first + timedelta(days=lo))
    ev = raw.select("account_id", "name", us=epoch_us(raw, raw.ts, backend))
    u = units.select("unit_id", at=epoch_us(units, units.exposed_at, backend))
    j = u.join(
        ev,
        [
            u.unit_id == ev.account_id,
            ev.us >= u.at + lo * US_PER_DAY,
            ev.us < u.at + hi * US_PER_DAY,
        ],
    )
    aggs = {}
    for m in measures:
        hit = (j.us >= j.at + m.start * US_PER_DAY) & (j.us < j.at + m.end * US_PER_DAY)
        if m.source.kind == "event_count":
            hit = hit & (j.name == m.source.event)
        day = j.us // US_PER_DAY
        count = day.nunique(where=hit) if m.source.kind == "active_days" else hit.sum()
        aggs[m.column] = count.cast("int64")
    return j.group_by("unit_id").aggregate(**aggs)


def ticket_sums(units: ir.Table, tickets: ir.Table, measures: list[Measure], cutoff: datetime):
    """Return unit_id and the tickets opened in each measure's window."""
    lo, hi = _span(measures)
    t = tickets.filter(tickets.opened_at < cutoff)
    j = units.join(
        t,
        [
            units.unit_id == t.account_id,
            t.opened_at >= _at(units.exposed_at, lo),
            t.opened_at < _at(units.exposed_at, hi),
        ],
    )
    aggs = {m.column: _inside(j.opened_at, j.exposed_at, m).sum() for m in measures}
    return j.group_by("unit_id").aggregate(**aggs)


def churn_flags(units: ir.Table, subscriptions: ir.Table, measures: list[Measure]):
    """Return unit_id and, per measure, 1 when a churn (labels' rule) falls in its window."""
    lo, hi = _span(measures)
    ends = churn_events(subscriptions)
    j = units.join(
        ends,
        [
            units.unit_id == ends.account_id,
            ends.churned_at >= _at(units.exposed_at, lo),
            ends.churned_at < _at(units.exposed_at, hi),
        ],
    )
    aggs = {m.column: _inside(j.churned_at, j.exposed_at, m).cast("int64").max() for m in measures}
    return j.group_by("unit_id").aggregate(**aggs)


def mrr_points(units: ir.Table, subscriptions: ir.Table, offsets: set[int]):
    """Return unit_id, mrr_<k> and seats_<k>: MRR and paid seats in force just before E + k."""
    paying = subscriptions.filter(subscriptions.mrr > 0)
    j = units.join(paying, units.unit_id == paying.account_id)
    aggs = {}
    for k in sorted(offsets):
        live = in_force(j.started_at, j.ended_at, _at(j.exposed_at, k))
        tag = str(k).replace("-", "n")
        aggs[f"mrr_{tag}"] = j.mrr.cast("int64").sum(where=live)
        aggs[f"seats_{tag}"] = j.quantity.cast("int64").sum(where=live)
    return j.group_by("unit_id").aggregate(**aggs)


def _point(t: ir.Table, what: str, k: int) -> ir.Value:
    return t[f"{what}_{str(k).replace('-', 'n')}"].fill_null(0)


def measure_value(t: ir.Table, m: Measure) -> ir.NumericValue:
    """Return the per-unit expression of a measure on the joined unit table."""
    kind = m.source.kind
    if kind == "renewed":
        return (_point(t, "mrr", m.end) > 0).cast("int64")
    if kind == "upgraded":
        return (_point(t, "mrr", m.end) > _point(t, "mrr", m.start)).cast("int64")
    if kind == "mrr_change":
        return _point(t, "mrr", m.end) - _point(t, "mrr", m.start)
    if kind in ("mrr", "seats"):
        return _point(t, kind, m.start)
    return t[m.column].fill_null(0).cast("int64")


def all_measures(definitions: Sequence[MetricDefinition]) -> list[Measure]:
    """Return every distinct measure the definitions need, in a stable order."""
    found: dict[Measure, None] = {}
    for d in definitions:
        for m in metric_measures(d):
            if m is not None:
                found.setdefault(m, None)
    return list(found)


def unit_table(
    exposures: ir.Table,
    sources: MetricSources,
    definitions: Sequence[MetricDefinition],
    as_of: date,
    backend: Any = None,
) -> ir.Table:
    """Return unit_id, variant, exposed_at and one column per measure, for units exposed by T."""
    cutoff = cutoff_of(as_of)
    units = exposures.select(
        unit_id=exposures.unit_id.cast("int64"),
        variant=exposures.variant.cast("string"),
        exposed_at=exposures.first_exposed_at.cast("timestamp"),
    )
    units = units.filter(units.exposed_at < cutoff)
    measures = all_measures(definitions)
    parts = []
    events = [m for m in measures if m.source.kind in EVENT_SOURCES]
    if events:
        parts.append(event_sums(units, sources.events, events, cutoff, backend))
    tickets = [m for m in measures if m.source.kind == "tickets"]
    if tickets:
        parts.append(ticket_sums(units, sources.tickets, tickets, cutoff))
    churns = [m for m in measures if m.source.kind == "churned"]
    if churns:
        parts.append(churn_flags(units, sources.subscriptions, churns))
    offsets = {k for m in measures if m.source.kind in MRR_SOURCES for k in (m.start, m.end)}
    if offsets:
        parts.append(mrr_points(units, sources.subscriptions, offsets))
    out = units
    for part in parts:
        out = out.left_join(part, out.unit_id == part.unit_id).drop("unit_id_right")
    return out.select(
        "unit_id", "variant", "exposed_at", **{m.column: measure_value(out, m) for m in measures}
    )


def _binary(d: MetricDefinition, x: ir.NumericValue) -> ir.NumericValue:
    if d.kind == MetricKind.BINARY and d.source.is_count:
        return (x > 0).cast("int64")
    return x


def summary_aggregates(
    t: ir.Table, definitions: Sequence[MetricDefinition], as_of: date
) -> dict[str, Any]:
    """Return the named aggregates of every metric's sufficient statistics over table t."""
    cutoff = cutoff_of(as_of)
    aggs: dict[str, Any] = {}
    for i, d in enumerate(definitions):
        value, pre, den = metric_measures(d)
        done = _at(t.exposed_at, d.window_days) <= cutoff
        x = _binary(d, t[value.column]).cast("float64")
        aggs[f"{i}_n"] = done.cast("int64").sum()
        aggs[f"{i}_sum"] = x.sum(where=done)
        aggs[f"{i}_sum_squares"] = (x * x).sum(where=done)
        for prefix, m in (("pre", pre), ("denominator", den)):
            if m is None:
                continue
            y = (_binary(d, t[m.column]) if prefix == "pre" else t[m.column]).cast("float64")
            aggs[f"{i}_{prefix}_sum"] = y.sum(where=done)
            aggs[f"{i}_{prefix}_sum_squares"] = (y * y).sum(where=done)
            aggs[f"{i}_{prefix}_cross_sum"] = (x * y).sum(where=done)
    return aggs


def _summary(row: dict[str, Any], i: int) -> MetricSummary:
    fields = {k.split("_", 1)[1]: v for k, v in row.items() if k.split("_", 1)[0] == str(i)}
    n = int(fields.pop("n") or 0)
    values = {k: float(v or 0.0) for k, v in fields.items()}
    return MetricSummary(n=n, **values)


def variant_summaries(
    exposures: ir.Table,
    sources: MetricSources,
    definitions: Sequence[MetricDefinition],
    as_of: date,
    backend: Any = None,
) -> dict[str, dict[str, MetricSummary]]:
    """Return metric → variant → MetricSummary, computed in one aggregate query per call.

    backend runs the query (Spark, whose app tables are memtables); None: the tables' own.
    """
    units = unit_table(exposures, sources, definitions, as_of, backend)
    query = units.group_by("variant").aggregate(**summary_aggregates(units, definitions, as_of))
    rows = _run(query, backend).to_pylist()
    return {
        d.name: {row["variant"]: _summary(row, i) for row in sorted(rows, key=_variant)}
        for i, d in enumerate(definitions)
    }


def _variant(row: dict[str, Any]) -> str:
    return str(row["variant"])
