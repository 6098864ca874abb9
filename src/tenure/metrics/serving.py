"""The month's full figures, their materialisation for serving, and reads of what is stored.

`month_reports` is what `tenure metrics summary|movements` print; the pipeline's `metrics`
stage stores the same figures per month (`metrics_month`) and the signup cohorts
(`metrics_snapshot` "cohorts") so the API and dashboard read them without recomputing.
When the churn definition counts accounts by activity (`metrics.activity.activity_wanted`:
"inactivity", or "auto" on a book without subscriptions) each month also carries the active
accounts and logo retention, the logo cohorts are stored as "activity_cohorts", and on a book
without subscriptions the billing figures are None.
The stage uses only what was known at the end of the as-of day: subscriptions started later
are dropped and ends after it are treated as still running.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tenure import clock
from tenure.churn.definition import churn_definition
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.errors import NotFound
from tenure.logging import get_logger
from tenure.metrics import cohorts
from tenure.metrics.activity import BILLING_FIELDS, activity_report, activity_wanted
from tenure.metrics.currency import (
    missing_rate_text,
    rated_rows,
    settings_rates,
    unrated_currencies,
)
from tenure.metrics.lifetime import account_lifetimes, mean_lifetime_months, survival_ltv
from tenure.metrics.models import MetricsMonth, MetricsSnapshot
from tenure.metrics.months import last_complete_month, month_of, month_text
from tenure.metrics.movements import movements_report
from tenure.metrics.spend import spend_figures
from tenure.metrics.surveys import survey_figures
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog
from tenure.warehouse.spark import uses_spark
from tenure.warehouse.stages.metrics import month_start
from tenure.warehouse.stages.subscriptions import app_db_subscriptions

log = get_logger(__name__)

SERVED_MONTHS = 36  # months of history the metrics stage keeps materialised
COHORT_MONTHS = 12


def known_at(subscriptions: pa.Table, end: datetime) -> pa.Table:
    """Return the subscriptions as known at `end` (naive UTC): later starts and ends removed."""
    started = subscriptions.filter(pc.less(subscriptions["started_at"], pa.scalar(end)))
    ended = started["ended_at"]
    after = pc.fill_null(pc.greater_equal(ended, pa.scalar(end)), False)
    column = pc.if_else(after, pa.nulls(len(ended), ended.type), ended)
    return started.set_column(started.schema.get_field_index("ended_at"), "ended_at", column)


def lifetime_figures(subscriptions: pa.Table, month: int, arpa: float | None) -> dict[str, Any]:
    """Return the Weibull mean lifetime (months) and survival LTV as of the month's end."""
    months, churned = account_lifetimes(subscriptions, month_start(month + 1))
    lifetime = mean_lifetime_months(months, churned)
    ltv = survival_ltv(arpa, lifetime)
    return {
        "expected_lifetime_months": None if lifetime is None else round(lifetime, 2),
        "ltv_survival": None if ltv is None else round(ltv, 2),
    }


def priced_subscriptions(subscriptions: pa.Table, settings: Settings) -> pa.Table:
    """Return the subscriptions in a currency with an exchange rate; log what is left out."""
    rates = settings_rates(settings.fx_rates)
    left_out = unrated_currencies(subscriptions, rates)
    if not left_out:
        return subscriptions
    log.warning(
        "subscriptions left out of the metrics (listed by `tenure dq report`): "
        + missing_rate_text(left_out, rates),
        rows=left_out,
    )
    return rated_rows(subscriptions, rates)


def metrics_backend(settings: Settings) -> Any:
    """Return the Ibis backend the stage's movements and cohorts run on: Spark, or None."""
    if not uses_spark(settings):
        return None
    import ibis

    from tenure.warehouse.spark import parse_url, spark_session

    return ibis.pyspark.connect(spark_session(parse_url(settings.warehouse_url or "")))


def month_reports(
    engine: Engine,
    settings: Settings,
    subscriptions: pa.Table,
    first: int,
    last: int,
    backend: Any = None,
) -> list[dict[str, Any]]:
    """Return each month's movements, rates, LTVs, NPS/CSAT and CAC, first … last."""
    currency, rates = settings.reporting_currency, settings_rates(settings.fx_rates)
    subscriptions = priced_subscriptions(subscriptions, settings)
    rows = movements_report(
        subscriptions, first, last, currency=currency, rates=rates, backend=backend
    )
    for month, row in zip(range(first, last + 1), rows, strict=True):
        row |= lifetime_figures(subscriptions, month, row["arpa"])
        row |= survey_figures(engine, month)
        row |= spend_figures(
            engine, month, row, currency=currency, rates=rates, gross_margin=settings.gross_margin
        )
    return rows


def recent_months(db_session: Session, settings: Settings, count: int = 12) -> list[dict[str, Any]]:
    """Return up to the last COUNT complete months' summaries, oldest first (stored or computed)."""
    # Months stored without billing data (MRR None: activity figures only) are not charted yet.
    stored = [m for m in stored_months(db_session) if m.get("mrr_end") is not None]
    if stored:
        return stored[-count:]
    engine = db_session.get_bind()
    subscriptions = app_db_subscriptions(engine)
    earliest = first_paid_month(subscriptions)
    last = last_complete_month()
    if earliest is None or earliest > last:
        return []
    return month_reports(engine, settings, subscriptions, max(earliest, last - count + 1), last)


def cohort_report(
    settings: Settings, subscriptions: pa.Table, last: int, backend: Any = None
) -> dict[str, Any]:
    """Return the signup-cohort matrices (logo, net and gross MRR) of the last 12 months."""
    first = last - COHORT_MONTHS + 1
    cells = cohorts.cohort_cells(
        priced_subscriptions(subscriptions, settings),
        first,
        last,
        currency=settings.reporting_currency,
        rates=settings_rates(settings.fx_rates),
        backend=backend,
    )
    span = {"from": month_text(first), "to": month_text(last)}
    return span | cohorts.retention_matrix(cells, settings.reporting_currency)


def first_paid_month(subscriptions: pa.Table) -> int | None:
    """Return the month index of the earliest paid subscription start (None without any)."""
    paid = subscriptions.filter(pc.greater(subscriptions["mrr"], 0))
    earliest = pc.min(paid["started_at"]).as_py() if paid.num_rows else None
    return None if earliest is None else month_of(earliest)


def billing_free_rows(engine: Engine, settings: Settings, first: int, last: int) -> list[dict]:
    """Return months with the billing figures None (no subscriptions) and NPS/CSAT."""
    blank = dict.fromkeys(BILLING_FIELDS)
    return [
        {"month": month_text(m), "currency": settings.reporting_currency}
        | blank
        | survey_figures(engine, m)
        for m in range(first, last + 1)
    ]


def activity_month_reports(
    engine: Engine,
    settings: Settings,
    subscriptions: pa.Table,
    activity: dict[int, dict],
    backend: Any = None,
) -> list[dict[str, Any]]:
    """Return each month's figures with the activity ones (active accounts, logo retention)."""
    first, last = min(activity), max(activity)
    if subscriptions.num_rows:
        rows = month_reports(engine, settings, subscriptions, first, last, backend)
    else:
        rows = billing_free_rows(engine, settings, first, last)
    kind = churn_definition(settings).kind
    months = range(first, last + 1)
    return [
        row | {"churn_definition": kind} | activity[m] for m, row in zip(months, rows, strict=True)
    ]


def materialise_activity(
    engine: Engine, settings: Settings, subscriptions: pa.Table, as_of: date
) -> dict[str, Any]:
    """Store the months and cohorts with the activity figures, from events known on as_of."""
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    last = month_of(as_of + timedelta(days=1)) - 1
    report = activity_report(
        settings, subscriptions, end=end, last=last, months=SERVED_MONTHS,
        cohort_months=COHORT_MONTHS,
    )  # fmt: skip
    if report is None:
        return {"months": 0, "cohorts": 0}
    backend = metrics_backend(settings)
    rows = activity_month_reports(engine, settings, subscriptions, report["months"], backend)
    paid = first_paid_month(subscriptions) is not None
    mrr_cohorts = cohort_report(settings, subscriptions, last, backend) if paid else None
    with session_scope(engine) as session:
        store_months(session, rows, as_of=as_of, currency=settings.reporting_currency)
        store_snapshot(session, "activity_cohorts", report["cohorts"], as_of=as_of)
        if mrr_cohorts is not None:
            store_snapshot(session, "cohorts", mrr_cohorts, as_of=as_of)
    return {
        "months": len(rows),
        "cohorts": len(report["cohorts"]["cohorts"]),
        "last_month": month_text(last),
        "churn_definition": rows[-1]["churn_definition"],
    }


def materialise(engine: Engine, settings: Settings, as_of: date) -> dict[str, Any]:
    """Store every complete month's figures (up to 36) and the cohorts, as known on as_of."""
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    subscriptions = known_at(app_db_subscriptions(engine), end)
    if activity_wanted(churn_definition(settings), subscriptions):
        return materialise_activity(engine, settings, subscriptions, as_of)
    last = month_of(as_of + timedelta(days=1)) - 1
    earliest = first_paid_month(subscriptions)
    if earliest is None or earliest > last:
        return {"months": 0, "cohorts": 0}
    first = max(earliest, last - SERVED_MONTHS + 1)
    backend = metrics_backend(settings)
    rows = month_reports(engine, settings, subscriptions, first, last, backend)
    report = cohort_report(settings, subscriptions, last, backend)
    with session_scope(engine) as session:
        store_months(session, rows, as_of=as_of, currency=settings.reporting_currency)
        store_snapshot(session, "cohorts", report, as_of=as_of)
    return {"months": len(rows), "cohorts": len(report["cohorts"]), "last_month": month_text(last)}


def store_months(
    session: Session, rows: list[dict[str, Any]], *, as_of: date, currency: str
) -> None:
    """Replace the stored figures of these months."""
    months = [date.fromisoformat(row["month"] + "-01") for row in rows]
    session.execute(sa.delete(MetricsMonth).where(MetricsMonth.month.in_(months)))
    now = clock.now()
    session.add_all(
        MetricsMonth(month=m, currency=currency, figures=row, as_of=as_of, computed_at=now)
        for m, row in zip(months, rows, strict=True)
    )


def store_snapshot(session: Session, name: str, payload: dict[str, Any], *, as_of: date) -> None:
    """Replace the stored report of this name."""
    session.execute(sa.delete(MetricsSnapshot).where(MetricsSnapshot.name == name))
    session.add(MetricsSnapshot(name=name, as_of=as_of, payload=payload, computed_at=clock.now()))


def stored_months(
    session: Session, first: date | None = None, last: date | None = None
) -> list[dict[str, Any]]:
    """Return the stored monthly figures between two month starts (inclusive), oldest first."""
    query = sa.select(MetricsMonth.figures).order_by(MetricsMonth.month)
    if first is not None:
        query = query.where(MetricsMonth.month >= first)
    if last is not None:
        query = query.where(MetricsMonth.month <= last)
    return list(session.scalars(query))


def stored_month(session: Session, month: date) -> dict[str, Any]:
    """Return one month's stored figures, or raise NotFound."""
    row = session.get(MetricsMonth, month.replace(day=1))
    if row is None:
        raise NotFound(f"no metrics stored for {month:%Y-%m}; run `tenure pipeline run`")
    return row.figures


def stored_snapshot(session: Session, name: str) -> dict[str, Any]:
    """Return a stored report with its as-of day, or raise NotFound."""
    row = session.get(MetricsSnapshot, name)
    if row is None:
        raise NotFound(f"no {name} report stored yet; run `tenure pipeline run`")
    return {"as_of": row.as_of.isoformat(), **row.payload}


@stage(
    "metrics",
    reads=(
        catalog.SUBSCRIPTIONS,
        catalog.ACCOUNTS,
        catalog.MARKETING_SPEND,
        catalog.SURVEY_RESPONSES,
        catalog.TICKETS,
        catalog.WAREHOUSE_EVENTS,
    ),
    writes=(catalog.METRICS_MONTHS, catalog.METRICS_SNAPSHOTS),
)
def retention_metrics(context: StageContext) -> StageSummary:
    """Store the monthly retention metrics and the cohorts as known on the day."""
    return materialise(context.engine, context.settings, context.as_of)
