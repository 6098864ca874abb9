"""`tenure metrics summary|movements`: MRR movements and the month's retention figures.

The commands read subscriptions from the app DB and compute in an in-memory DuckDB (through
Ibis), so a read-only report never waits for, or blocks, the warehouse writer.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.cli.options import parse_days
from tenure.errors import InputError, NotFound

# PyArrow and the metrics engine (Ibis, DuckDB) are imported inside the commands that use them, so
# `tenure metrics --help` and the other commands do not load them (start-up time, not an import
# cycle).

metrics_app = typer.Typer(help="MRR movements and retention metrics.", no_args_is_help=True)

MOVEMENT_FIELDS = (
    "month",
    "currency",
    "mrr_start",
    "new",
    "expansion",
    "reactivation",
    "contraction",
    "churn",
    "mrr_end",
    "customers_start",
    "customers_end",
    "logo_churn_rate",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "grr",
    "nrr",
    "arpa",
    "ltv",
    "ltv_survival",
    "expected_lifetime_months",
    "quick_ratio",
    "nps",
    "csat",
    "spend",
    "cac",
    "cac_payback_months",
)


BILLING_NOTE = (
    "No subscriptions: MRR, movements, churn rates, NRR/GRR, ARPA, LTV and CAC need billing "
    "data; active accounts and logo retention follow the inactivity churn definition."
)
MAX_DAYS = 366
TABLE_FIELDS = ("month", "mrr_start", "new", "expansion", "reactivation", "contraction")
TABLE_FIELDS += ("churn", "mrr_end", "customers_end", "nrr")
HEADERS = {
    "mrr_start": "start",
    "expansion": "expans.",
    "reactivation": "reactiv.",
    "contraction": "contr.",
    "mrr_end": "end",
    "customers_end": "customers",
}
MONEY_FIELDS = frozenset(("mrr_start", "mrr_end", "new", "expansion", "reactivation"))
MONEY_FIELDS |= {"contraction", "churn", "arpa", "ltv", "ltv_survival", "spend", "cac"}


def _compact_money(value: float) -> str:
    """Return money short enough for a 10-column table: 950, 12.3k, 1.94M."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.2f}M"
    return f"{value / 1e3:.1f}k" if size >= 1e4 else f"{value:,.0f}"


def _shown(key: str, value: Any, *, compact: bool = False) -> str:
    if value is None:
        return "—"
    if key in MONEY_FIELDS:
        return _compact_money(value) if compact else f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:.3f}" if compact else f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


@metrics_app.command("summary")
def summary_command(
    ctx: typer.Context,
    month: Annotated[
        str | None, typer.Option("--month", help="Month, YYYY-MM (default: last complete month)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Print one month's MRR bridge, churn rates, NRR/GRR, ARPA, LTV, NPS/CSAT and CAC.

    Under churn by inactivity (or "auto" without subscriptions) also active accounts and
    logo retention, read from the warehouse events.
    """
    from tenure.churn.definition import churn_definition
    from tenure.metrics.activity import activity_wanted
    from tenure.metrics.months import last_complete_month, parse_month
    from tenure.metrics.serving import month_reports
    from tenure.warehouse.stages.subscriptions import app_db_subscriptions

    context: AppContext = app_context(ctx)
    index = parse_month(month) if month else last_complete_month()
    subscriptions = app_db_subscriptions(context.engine)
    if activity_wanted(churn_definition(context.settings), subscriptions):
        figures = _activity_figures(context, subscriptions, index)
    else:
        figures = month_reports(context.engine, context.settings, subscriptions, index, index)[0]
    currency = context.settings.reporting_currency
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    table = Table(title=f"Metrics for {figures['month']} ({currency})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if key not in ("month", "currency"):
            table.add_row(key, _shown(key, value))
    context.out.print(table)
    if subscriptions.num_rows == 0:
        context.out.print(BILLING_NOTE)


def _activity_figures(context: AppContext, subscriptions: Any, index: int) -> dict[str, Any]:
    """Return the month's figures with active accounts and logo retention (from events)."""
    from tenure.metrics.activity import activity_report, month_rows
    from tenure.metrics.serving import activity_month_reports
    from tenure.warehouse.stages.metrics import month_start

    report = activity_report(
        context.settings, subscriptions, end=month_start(index + 1), last=index, months=1,
        cohort_months=1,
    )  # fmt: skip
    activity = report["months"] if report else month_rows({}, index, index)
    return activity_month_reports(context.engine, context.settings, subscriptions, activity)[0]


@metrics_app.command("movements")
def movements_command(
    ctx: typer.Context,
    first: Annotated[
        str | None, typer.Option("--from", help="First month, YYYY-MM (default: 11 before --to)")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last month, YYYY-MM (default: last complete month)")
    ] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the rows here")] = None,
) -> None:
    """Print (or write as CSV) one row of MRR movements per month."""
    from tenure.metrics.months import last_complete_month, month_range, parse_month
    from tenure.metrics.serving import month_reports
    from tenure.warehouse.stages.subscriptions import app_db_subscriptions

    context: AppContext = app_context(ctx)
    end = parse_month(last, option="--to") if last else last_complete_month()
    start = parse_month(first, option="--from") if first else end - 11
    months = month_range(start, end)
    currency = context.settings.reporting_currency
    subscriptions = app_db_subscriptions(context.engine)
    rows = month_reports(context.engine, context.settings, subscriptions, months[0], months[-1])
    if csv_path is not None:
        _write_csv(csv_path, rows)
        context.out.print(f"metrics movements: {len(rows)} months written to {csv_path}")
        return
    table = Table(
        title=f"MRR movements ({currency}; k = thousand, M = million)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    cells = [[_shown(field, row[field], compact=True) for field in TABLE_FIELDS] for row in rows]
    for i, field in enumerate(TABLE_FIELDS):
        header = HEADERS.get(field, field)
        width = max([len(header), *(len(c[i]) for c in cells)])
        table.add_column(header, justify="left" if i == 0 else "right", min_width=width)
    for row_cells in cells:
        table.add_row(*row_cells)
    context.out.print(table)


@metrics_app.command("mrr")
def mrr_command(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day, YYYY-MM-DD (today)")] = None,
    first: Annotated[str | None, typer.Option("--from", help="First day of a range")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day of a range")] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Only this account (external id)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """MRR, paying customers and ARPA at the end of each day (or one account's daily MRR)."""
    from tenure.metrics.currency import settings_rates
    from tenure.metrics.daily import daily_account_mrr, daily_totals
    from tenure.metrics.serving import priced_subscriptions
    from tenure.warehouse.stages.subscriptions import app_db_subscriptions

    context: AppContext = app_context(ctx)
    days = parse_days(as_of, first, last, max_days=MAX_DAYS)
    subscriptions = priced_subscriptions(app_db_subscriptions(context.engine), context.settings)
    account_ids = None
    if account is not None:
        account_ids = _account_ids(subscriptions, account)
    currency = context.settings.reporting_currency
    per_account = daily_account_mrr(
        subscriptions,
        days,
        currency=currency,
        rates=settings_rates(context.settings.fx_rates),
        account_ids=account_ids,
    )
    rows = daily_totals(per_account, days, currency)
    if as_json:
        typer.echo(json.dumps({"account": account, "days": rows}))
        return
    table = Table(title=f"MRR by day ({currency})" + (f", account {account}" if account else ""))
    for header in ("day", "mrr", "customers", "arpa"):
        table.add_column(header, justify="left" if header == "day" else "right")
    for row in rows:
        table.add_row(
            row["day"], f"{row['mrr']:,.2f}", f"{row['customers']:,}", _shown("arpa", row["arpa"])
        )
    context.out.print(table)


def _account_ids(subscriptions: Any, external_id: str) -> list[int]:
    """Return the internal id of an account known by external id, or raise NotFound."""
    import pyarrow.compute as pc

    matches = subscriptions.filter(pc.equal(subscriptions["account_external_id"], external_id))
    ids = sorted(set(matches["account_id"].to_pylist()))
    if not ids:
        raise NotFound(f"no subscriptions for account {external_id!r}")
    return ids


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    try:
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=MOVEMENT_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc}") from exc


def register(app: typer.Typer) -> None:
    """Add the `metrics` group to the root app."""
    app.add_typer(metrics_app, name="metrics")
