"""Churn features per (as-of day, account) as Ibis expressions: only data known at the as-of.

The as-of day D is complete: the cutoff is T = D + 1 day 00:00 UTC and only rows stamped
before T are read. Subscription rows that end at or after T are treated as still open (the
end was not known at D), so appending future events, tickets, invoices, surveys or
subscription changes can change no feature. An account is in the snapshot of D when its MRR
just before T is positive (a row with started_at < T ≤ ended_at, or still open, and mrr > 0);
accounts that already churned, or have not started paying, are left out.

Usage of one as-of day (the daily stage) comes from one scan of its 90 days (churn/usage.py);
for many as-of days (training) from a per-account, per-day table (all events, and a count per
frequent event name) built in one scan of the events, which each as-of sums over its 90 days. Counts
fill with 0, averages stay NULL when there is nothing to average (trees route missing
values; the logistic model imputes).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir

from tenure.accounts.mrr import in_force
from tenure.churn.inactivity import SUBSCRIPTION_ONLY, ChurnDefinition, population
from tenure.churn.usage import day_usage
from tenure.churn.windows import EPOCH, WINDOW_DAYS, day_number, event_column, name_counts

MAX_EVENT_NAMES = 12
NUMERIC_BASE = (
    "events_7d", "events_30d", "events_prev_30d", "events_90d", "events_trend",
    "active_days_30d", "active_days_90d", "distinct_events_30d", "days_since_last_event",
    "events_per_seat_7d", "events_per_seat_30d", "active_users_7d", "active_users_30d",
    "active_user_share_30d",
    "mrr", "mrr_change_90d", "seats", "tenure_days", "plan_changes_90d",
    "invoices_90d", "failed_payments_7d", "failed_payments_30d", "failed_payments_90d",
    "tickets_30d", "tickets_90d", "tickets_open", "urgent_tickets_90d",
    "cancellation_tickets_90d", "billing_tickets_90d", "events_7d_vs_90d",
    "resolve_hours_90d", "ticket_csat_90d",
    "nps_last", "nps_mean_180d", "survey_csat_180d",
)  # fmt: skip
CATEGORICAL_BASE = ("plan", "billing_interval", "industry", "region")
# Ticket subjects that state an intent to leave or shrink, and billing trouble (case-insensitive).
CANCEL_PATTERN = (
    r"(?i)(cancel|downgrad|terminat|reduce (our|the) seats|before leaving|close (our|the) account)"
)
BILLING_PATTERN = r"(?i)(invoice|payment|card|billing|refund|charge)"


def event_feature_columns(names: Sequence[str]) -> list[str]:
    """Return the per-event-name feature columns: 30-day count, per seat, and 30-vs-30 trend."""
    kinds = ("30d", "per_seat", "share", "trend")
    return [f"{event_column(n)}_{kind}" for n in names for kind in kinds]


def as_of_table(as_ofs: Sequence[date]) -> ir.Table:
    """Return a memtable of as-of days and their cutoffs (the next midnight, naive UTC)."""
    days = sorted(set(as_ofs))
    cutoffs = [datetime.combine(d + timedelta(days=1), time()) for d in days]
    numbers = [(d - EPOCH).days for d in days]
    return ibis.memtable(
        {"as_of": days, "cutoff": cutoffs, "as_of_day": numbers},
        schema={"as_of": "date", "cutoff": "timestamp", "as_of_day": "int64"},
    )


def _days(value: ir.Value) -> ir.Value:
    return ibis.interval(days=value) if isinstance(value, int) else value


def daily_events(
    events: ir.Table, last_cutoff: datetime, first_cutoff: datetime | None = None
) -> ir.Table:
    """Return account_id, day, name: one row per event in the windows, on its UTC day.

    Not grouped here: usage_features counts these rows per (account, day) with one count per
    top event name, which is cheaper than a (account, day, name) table it would re-group.
    """
    start = (first_cutoff or last_cutoff) - timedelta(days=WINDOW_DAYS)
    recent = events.filter(events.ts < last_cutoff, events.ts >= start)
    return recent.select(account_id=recent.account_id, day=day_number(recent.ts), name=recent.name)


def daily_active_users(
    events: ir.Table, last_cutoff: datetime, first_cutoff: datetime | None = None
) -> ir.Table:
    """Return account_id, day, contact: one row per event with a contact in the windows.

    Not de-duplicated: user_features keeps each contact's latest day per as-of in one
    aggregate, which costs less than a DISTINCT over (account, day, contact) first.
    """
    ts = events.ts.cast("timestamp")
    start = (first_cutoff or last_cutoff) - timedelta(days=30)
    known = events.filter(ts < last_cutoff, ts >= start, events.contact_external_id.notnull())
    return known.select(
        account_id=known.account_id,
        day=day_number(known.ts),
        contact=known.contact_external_id,
    )


def user_features(users: ir.Table, as_ofs: ir.Table) -> ir.Table:
    """Return distinct active contacts in the 7 and 30 days before each as-of.

    Each contact's most recent active day per as-of first (a plain aggregate), then counts:
    the same numbers as COUNT(DISTINCT contact), without its per-group hash sets.
    """
    joined = users.join(as_ofs, [users.day <= as_ofs.as_of_day, users.day > as_ofs.as_of_day - 30])
    keys = ["as_of", "account_id"]
    latest = joined.group_by([*keys, "contact"]).aggregate(
        age=(joined.as_of_day - joined.day).min()
    )
    return latest.group_by(keys).aggregate(
        active_users_7d=latest.count(where=latest.age < 7),
        active_users_30d=latest.count(),
    )


def _per_day(events: ir.Table, names: Sequence[str]) -> ir.Table:
    """Return account_id, day, n and one count per named event, from one row per event."""
    counts = {
        col: events.count(where=events.name == name) for name, col in name_counts(names).items()
    }
    return events.group_by(["account_id", "day"]).aggregate(n=events.count(), **counts)


def _other_names_30d(events: ir.Table, as_ofs: ir.Table, names: Sequence[str]) -> ir.Table:
    """Return as_of, account_id, other_names_30d: event names outside `names` in 30 days."""
    # A chain of <> is pushed into the scan: measured about 2x cheaper than NOT IN here.
    unlisted = functools.reduce(
        operator.and_, (events.name != n for n in names), ibis.literal(True)
    )
    other = events.filter(events.name.isnull() | unlisted).distinct()
    joined = other.join(as_ofs, [other.day <= as_ofs.as_of_day, other.day > as_ofs.as_of_day - 30])
    used = joined.select("as_of", "account_id", "name").distinct()
    return used.group_by(["as_of", "account_id"]).aggregate(other_names_30d=used.count())


def usage_features(daily: ir.Table, as_ofs: ir.Table, names: Sequence[str]) -> ir.Table:
    """Return usage features per (as_of, account_id) from one row per event (daily_events).

    One (account, day) table holds the day's events and a count per named event; each as-of
    sums it over its windows. Distinct names in 30 days = the named events seen there plus
    the other names seen (a small table: `names` are the most frequent ones). Counts are 0,
    not NULL, when an account has no events in a window (NULL-holding integer columns also
    cost Ibis's pandas conversion a Python object per value).
    """
    days = _per_day(daily, names)
    joined = days.join(
        as_ofs, [days.day <= as_ofs.as_of_day, days.day > as_ofs.as_of_day - WINDOW_DAYS]
    )
    age = joined.as_of_day - joined.day
    last_30, prev_30 = age < 30, (age >= 30) & (age < 60)
    columns = {
        "events_7d": joined.n.sum(where=age < 7),
        "events_30d": joined.n.sum(where=last_30),
        "events_prev_30d": joined.n.sum(where=prev_30),
        "events_90d": joined.n.sum(),
        "active_days_30d": joined.count(where=last_30),
        "active_days_90d": joined.count(),
        "days_since_last_event": age.min(),
    }
    named = name_counts(names)
    for col in named.values():
        columns[f"{col}_30d"] = joined[col].sum(where=last_30)
        columns[f"{col}_prev"] = joined[col].sum(where=prev_30)
    per_day = joined.group_by(["as_of", "account_id"]).aggregate(**columns)
    other = _other_names_30d(daily, as_ofs, names)
    t = per_day.left_join(
        other, [per_day.as_of == other.as_of, per_day.account_id == other.account_id]
    )
    return t.select(**_usage_columns(t, names, named))


def _usage_columns(t: ir.Table, names: Sequence[str], named: dict[str, str]) -> dict[str, ir.Value]:
    """Return the usage output columns of the joined per-day and other-name aggregates."""
    out = {c: t[c] for c in ("as_of", "account_id")}
    out |= {c: t[c].fill_null(0) for c in ("events_7d", "events_30d", "events_prev_30d")}
    keep = ("events_90d", "active_days_30d", "active_days_90d", "days_since_last_event")
    out |= {c: t[c] for c in keep}
    seen = t.other_names_30d.fill_null(0)
    for col in named.values():
        seen += ibis.ifelse(t[f"{col}_30d"] > 0, 1, 0)
    out["distinct_events_30d"] = seen
    for name in names:
        stem, col = event_column(name), named[name]
        out[f"{stem}_30d"] = t[f"{col}_30d"].fill_null(0)
        out[f"{stem}_prev"] = t[f"{col}_prev"].fill_null(0)
    return out


def subscription_features(subs: ir.Table, as_ofs: ir.Table) -> ir.Table:
    """Return MRR, seats, plan, interval, MRR change, tenure per (as_of, account) paying at T."""
    j = subs.join(as_ofs, subs.started_at < as_ofs.cutoff)
    known_end = ibis.ifelse(j.ended_at < j.cutoff, j.ended_at, ibis.null("timestamp"))
    active = known_end.isnull() & (j.mrr > 0)
    ago = j.cutoff - ibis.interval(days=WINDOW_DAYS)
    was_active = in_force(j.started_at, j.ended_at, ago)
    grouped = j.group_by(["as_of", "account_id"]).aggregate(
        mrr=j.mrr.sum(where=active),
        mrr_90d_ago=j.mrr.sum(where=was_active & (j.mrr > 0)),
        seats=j.quantity.sum(where=active),
        plan=j.plan.argmax(ibis.ifelse(active, j.mrr, -1)),
        billing_interval=j.billing_interval.argmax(ibis.ifelse(active, j.mrr, -1)),
        first_started=j.started_at.min(),
        cutoff=j.cutoff.max(),
        plan_changes_90d=j.count(where=j.started_at >= ago),
    )
    paying = grouped.filter(grouped.mrr > 0)
    return paying.select(
        "as_of",
        "account_id",
        "mrr",
        "seats",
        "plan",
        "billing_interval",
        "plan_changes_90d",
        mrr_change_90d=paying.mrr - paying.mrr_90d_ago.fill_null(0),
        # Midnights crossed (DuckDB's date_diff): portable, where Spark's counts whole days.
        tenure_days=day_number(paying.cutoff) - day_number(paying.first_started),
    )


def invoice_features(invoices: ir.Table, as_ofs: ir.Table) -> ir.Table:
    """Return invoices and failed payments in the 30/90 days before each cutoff."""
    j = invoices.join(
        as_ofs,
        [
            invoices.issued_at < as_ofs.cutoff,
            invoices.issued_at >= as_ofs.cutoff - ibis.interval(days=WINDOW_DAYS),
        ],
    )
    failed = j.status == "failed"
    recent = j.issued_at >= j.cutoff - ibis.interval(days=30)
    return j.group_by(["as_of", "account_id"]).aggregate(
        invoices_90d=j.count(),
        failed_payments_90d=j.count(where=failed),
        failed_payments_30d=j.count(where=failed & recent),
        failed_payments_7d=j.count(
            where=failed & (j.issued_at >= j.cutoff - ibis.interval(days=7))
        ),
    )


def ticket_features(tickets: ir.Table, as_ofs: ir.Table) -> ir.Table:
    """Return tickets opened, still open, urgent, resolution time and CSAT before each cutoff."""
    j = tickets.join(
        as_ofs,
        [
            tickets.opened_at < as_ofs.cutoff,
            tickets.opened_at >= as_ofs.cutoff - ibis.interval(days=2 * WINDOW_DAYS),
        ],
    )
    in_90 = j.opened_at >= j.cutoff - ibis.interval(days=WINDOW_DAYS)
    closed = j.closed_at.notnull() & (j.closed_at < j.cutoff)
    hours = (_minute(j.closed_at) - _minute(j.opened_at)).cast("float64") / 60.0
    return j.group_by(["as_of", "account_id"]).aggregate(
        tickets_30d=j.count(where=j.opened_at >= j.cutoff - ibis.interval(days=30)),
        tickets_90d=j.count(where=in_90),
        tickets_open=j.count(where=~closed),
        urgent_tickets_90d=j.count(where=in_90 & j.priority.isin(["high", "urgent"])),
        cancellation_tickets_90d=j.count(where=in_90 & j.subject.re_search(CANCEL_PATTERN)),
        billing_tickets_90d=j.count(where=in_90 & j.subject.re_search(BILLING_PATTERN)),
        resolve_hours_90d=hours.mean(where=in_90 & closed),
        ticket_csat_90d=j.csat.cast("float64").mean(where=in_90 & closed),
    )


def _minute(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Return the minute number since the epoch (minute boundaries, as DuckDB's date_diff)."""
    return (ts.epoch_seconds() // 60).cast("int64")


def survey_features(surveys: ir.Table, as_ofs: ir.Table) -> ir.Table:
    """Return the last NPS, mean NPS and mean CSAT answer in the 180 days before each cutoff."""
    j = surveys.join(
        as_ofs,
        [
            surveys.responded_at < as_ofs.cutoff,
            surveys.responded_at >= as_ofs.cutoff - ibis.interval(days=2 * WINDOW_DAYS),
        ],
    )
    nps = j.kind == "nps"
    return j.group_by(["as_of", "account_id"]).aggregate(
        nps_last=j.score.argmax(ibis.ifelse(nps, j.responded_at.epoch_seconds(), -1)),
        has_nps=j.count(where=nps),
        nps_mean_180d=j.score.cast("float64").mean(where=nps),
        survey_csat_180d=j.score.cast("float64").mean(where=j.kind == "csat"),
    )


def _left(base: ir.Table, other: ir.Table) -> ir.Table:
    joined = base.left_join(other, [base.as_of == other.as_of, base.account_id == other.account_id])
    return joined.drop("as_of_right", "account_id_right")


def _ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """Return numerator / denominator, NULL when the denominator is 0."""
    den = denominator.cast("float64")
    return ibis.ifelse(den > 0, numerator.cast("float64") / den, ibis.null("float64"))


def feature_table(
    sources: dict[str, ir.Table],
    as_ofs: Sequence[date],
    event_names: Sequence[str],
    definition: ChurnDefinition = SUBSCRIPTION_ONLY,
) -> ir.Table:
    """Return one row per (as_of, account in the population) with every churn feature.

    `sources` holds Ibis tables: events, subscriptions, invoices, tickets, surveys, accounts.
    The population is the accounts paying at the as-of, or those the churn definition judges
    by inactivity and that are active (inactivity.py); they have no subscription features.
    """
    grid = as_of_table(as_ofs)
    table = subscription_features(sources["subscriptions"], grid)
    if definition.uses_events:
        subs, events = sources["subscriptions"], sources["events"]
        keys = population(table, events, subs, grid, definition)
        table = _left(keys, table)
    for part in (
        *_event_parts(sources["events"], grid, as_ofs, event_names),
        invoice_features(sources["invoices"], grid),
        ticket_features(sources["tickets"], grid),
        survey_features(sources["surveys"], grid),
    ):
        table = _left(table, part)
    accounts = sources["accounts"]
    table = table.left_join(accounts, table.account_id == accounts.account_id).drop(
        "account_id_right"
    )
    return _finish(table, event_names)


def _event_parts(
    events: ir.Table, grid: ir.Table, as_ofs: Sequence[date], names: Sequence[str]
) -> list[ir.Table]:
    """Return the usage and active-user features: one scan for one day, else per-day tables."""
    if len(set(as_ofs)) == 1:
        return [day_usage(events, as_ofs[0], names)]
    last_cutoff = datetime.combine(max(as_ofs) + timedelta(days=1), time())
    first_cutoff = datetime.combine(min(as_ofs) + timedelta(days=1), time())
    daily = daily_events(events, last_cutoff, first_cutoff)
    users = daily_active_users(events, last_cutoff, first_cutoff)
    return [usage_features(daily, grid, names), user_features(users, grid)]


def _finish(t: ir.Table, event_names: Sequence[str]) -> ir.Table:
    """Fill counts with 0 and add the ratios and per-seat figures."""
    counts = [
        "events_7d", "events_30d", "events_prev_30d", "events_90d", "active_days_30d",
        "active_days_90d", "distinct_events_30d", "invoices_90d", "failed_payments_30d",
        "failed_payments_90d", "failed_payments_7d", "active_users_7d", "active_users_30d",
        "tickets_30d", "tickets_90d", "tickets_open", "urgent_tickets_90d",
        "cancellation_tickets_90d", "billing_tickets_90d",
    ]  # fmt: skip
    counts += [f"{event_column(n)}_{k}" for n in event_names for k in ("30d", "prev")]
    t = t.mutate(**{c: t[c].fill_null(0) for c in counts})
    derived = {
        "events_trend": _ratio(t.events_30d, t.events_prev_30d),
        "events_per_seat_30d": _ratio(t.events_30d, t.seats),
        "events_per_seat_7d": _ratio(t.events_7d, t.seats),
        "active_user_share_30d": _ratio(t.active_users_30d, t.seats),
        "events_7d_vs_90d": _ratio(t.events_7d * 90, t.events_90d * 7),
        "days_since_last_event": t.days_since_last_event.fill_null(WINDOW_DAYS),
        "nps_last": ibis.ifelse(t.has_nps > 0, t.nps_last, ibis.null("int64")),
    }
    for name in event_names:
        stem = event_column(name)
        derived[f"{stem}_trend"] = _ratio(t[f"{stem}_30d"], t[f"{stem}_prev"])
        derived[f"{stem}_per_seat"] = _ratio(t[f"{stem}_30d"], t.seats)
        derived[f"{stem}_share"] = _ratio(t[f"{stem}_30d"], t.events_30d)
    t = t.mutate(**derived)
    keep = ["as_of", "account_id", "external_id", *CATEGORICAL_BASE, *_attribute_columns(t)]
    keep += [*NUMERIC_BASE, *event_feature_columns(event_names)]
    return t.select(*keep).order_by(["as_of", "account_id"])


def _attribute_columns(t: ir.Table) -> list[str]:
    return [c for c in t.columns if c.startswith("attr_")]


def feature_columns(columns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Return (numeric, categorical) model inputs among a feature table's columns."""
    categorical = [c for c in columns if c in CATEGORICAL_BASE or c.startswith("attr_")]
    skip = {"as_of", "account_id", "external_id", *categorical}
    return [c for c in columns if c not in skip], categorical
