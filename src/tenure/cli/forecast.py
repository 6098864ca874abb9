"""`tenure forecast`: MRR, customers and logo churn ahead with 80 %/95 % prediction intervals."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from tenure.cli.context import app_context

# statsmodels, DuckDB and the metrics engine load inside the command (start-up time).

SHOWN = (("mrr", "MRR"), ("customers", "customers"), ("logo_churn", "churned"))


def _table(report: dict[str, Any]) -> Table:
    """Return the forecast as a table: point and 80 % interval per series, with the method."""
    table = Table(
        box=box.SIMPLE,
        title=f"Forecast after {report['last_month']} ({report['currency']}; point [80 %])",
    )
    table.add_column("month")
    for _, title in SHOWN:
        table.add_column(title, justify="right")
    for row in report["forecast"]:
        cells = []
        for key, _ in SHOWN:
            c = row[key]
            mark = "" if c["method"] == "model" else f" ({c['method']})"
            cells.append(f"{c['point']:,.0f} [{c['lo80']:,.0f}–{c['hi80']:,.0f}]{mark}")
        table.add_row(row["month"], *cells)
    return table


def _backtest_lines(report: dict[str, Any]) -> list[str]:
    """Return one line per series: model vs baseline MAPE at horizons 1, 3 and 12."""
    lines = []
    for key, title in SHOWN:
        parts = []
        for row in report["backtest"][key]:
            if row["horizon"] in (1, 3, 6, 12) and row["n"]:
                mape = {m: row[m]["mape"] for m in ("model", "naive", "seasonal_naive") if m in row}
                text = " ".join(f"{m} {v:.1%}" for m, v in mape.items() if v is not None)
                parts.append(f"h{row['horizon']}: {text} → {row['method']}")
        lines.append(f"{title} MAPE  " + ("; ".join(parts) or "not backtested (short history)"))
        cal = report["backtest"].get("calibration", {}).get(key, {}).get("model")
        if cal and cal["coverage80_before"] is not None:
            lines.append(
                f"{title} 80 % coverage {cal['coverage80_before']:.0%} → "
                f"{cal['coverage80_after']:.0%} calibrated; 95 % {cal['coverage95_before']:.0%} → "
                f"{cal['coverage95_after']:.0%} (out of time, {cal['judged']} months)"
            )
    return lines


def forecast_command(
    ctx: typer.Context,
    months: Annotated[
        int, typer.Option("--months", min=1, max=24, help="Months ahead (3–12 is what is tested)")
    ] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Forecast MRR, customers and logo churn with intervals, beside a rolling backtest."""
    from tenure.db.session import session_scope
    from tenure.reports.forecast.service import current_forecast

    context = app_context(ctx)
    with session_scope(context.engine) as session:  # stored: the dashboard and reports reuse it
        report = current_forecast(
            db_session=session, settings=context.settings, months=months, refresh=True
        )
    if as_json:
        context.out.print_json(json.dumps(report))
        return
    context.out.print(_table(report))
    for line in _backtest_lines(report):
        context.out.print(line, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `forecast` command to the root app."""
    app.command(
        "forecast",
        help="Forecast MRR, customers and logo churn with intervals, beside a rolling backtest.",
    )(forecast_command)
