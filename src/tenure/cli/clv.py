"""`tenure clv fit`: BG/NBD + Gamma-Gamma customer lifetime value for non-subscription revenue."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from tenure.cli.context import app_context
from tenure.errors import InputError

# NumPy, SciPy and DuckDB load inside the command (start-up time of `tenure --help`).

clv_app = typer.Typer(
    help="Customer lifetime value for usage and one-off purchases (BG/NBD + Gamma-Gamma).",
    no_args_is_help=True,
)

UNITS = ("days", "weeks")


def _inputs(
    transactions: Path | None, summary: Path | None, columns: dict[str, str | None]
) -> None:
    """Raise InputError unless exactly one input is given, with its columns."""
    if (transactions is None) == (summary is None):
        raise InputError("give exactly one of --transactions FILE or --summary FILE")
    missing = [f"--{name}" for name, value in columns.items() if value is None]
    if transactions is not None and missing:
        raise InputError(f"--transactions needs {', '.join(missing)}")
    if summary is not None and len(missing) < len(columns):
        raise InputError("--customer/--date/--amount apply to --transactions only")


def _calibration_end(text: str | None) -> date | None:
    """Parse --calibration-end as an ISO date."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--calibration-end: {text!r} is not a date (YYYY-MM-DD)") from None


def _table(result: dict[str, Any]) -> Table:
    """Return the fitted parameters as a table."""
    table = Table(box=box.SIMPLE, title=f"CLV fit ({result['customers']:,} customers)")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for key in ("r", "alpha", "a", "b", "p", "q", "gamma", "log_likelihood"):
        if key in result:
            table.add_row(key, f"{result[key]:.4f}")
    table.add_row("time unit", result["time_unit"])
    return table


@clv_app.command("fit")
def fit_command(
    ctx: typer.Context,
    transactions: Annotated[
        Path | None, typer.Option("--transactions", help="Transactions CSV (one row a purchase)")
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Customer id column")] = None,
    date_column: Annotated[str | None, typer.Option("--date", help="Purchase date column")] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="Purchase amount column")] = None,
    calibration_end: Annotated[
        str | None, typer.Option("--calibration-end", help="Last date used (default: last date)")
    ] = None,
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Summary CSV: frequency, recency, T[, ...]")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    predict_days: Annotated[
        int | None, typer.Option("--predict-days", min=1, help="Predict purchases and CLV")
    ] = None,
    time_unit: Annotated[
        str, typer.Option("--time-unit", help="Unit of recency and T: weeks or days")
    ] = "weeks",
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", min=0.0, help="Annual discount rate for CLV")
    ] = 0.0,
) -> None:
    """Fit BG/NBD purchase frequency and Gamma-Gamma spend by maximum likelihood."""
    from tenure.reports.clv.files import read_summary
    from tenure.reports.clv.transactions import summarise_transactions
    from tenure.reports.clv.value import fit_clv, report

    if time_unit not in UNITS:
        raise InputError(f"--time-unit must be one of {', '.join(UNITS)}, not {time_unit!r}")
    columns = {"customer": customer, "date": date_column, "amount": amount}
    _inputs(transactions, summary, columns)
    if transactions is not None:
        end = _calibration_end(calibration_end)
        data = summarise_transactions(transactions, customer, date_column, amount, end, time_unit)
    else:
        data = read_summary(summary, time_unit)
    result = report(fit_clv(data), predict_days, discount_rate)
    out = app_context(ctx).out
    if as_json:
        out.print_json(json.dumps(result))
        return
    out.print(_table(result))
    if predict_days is not None:
        total = sum(v for v in result["clv"].values() if v is not None)
        purchases = sum(result["expected_purchases"].values())
        out.print(f"next {predict_days} days: {purchases:,.1f} purchases, CLV {total:,.2f}")


def register(app: typer.Typer) -> None:
    """Add the `clv` group to the root app."""
    app.add_typer(clv_app, name="clv")
