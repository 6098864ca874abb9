"""`tenure analyze cohorts|survival|drivers`: retention by signup cohort and why customers leave."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.clock import now
from tenure.errors import InputError

if TYPE_CHECKING:
    from tenure.analysis.frame import AnalysisFrame

# The analysis and metrics modules (lifelines, pandas, Ibis, Plotly) are imported inside the
# functions that use them, so `tenure analyze --help` and the other commands do not load them
# (start-up time, not an import cycle).

analyze_app = typer.Typer(
    help="Churn analysis: signup cohorts, survival curves, hazards, drivers.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Analyse the data as of this date (YYYY-MM-DD).")
]


def _frame(context: AppContext, as_of: str | None) -> AnalysisFrame:
    from tenure.analysis.frame import load_frame

    try:
        day = date.fromisoformat(as_of) if as_of else now().date()
    except ValueError as exc:
        raise InputError(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}") from exc
    frame = load_frame(context.engine, day)
    if frame.data.empty:
        raise InputError("no accounts to analyse; import some first (tenure import …)")
    return frame


def _print_table(
    context: AppContext, title: str, headers: list[str], rows: list[list[Any]]
) -> None:
    from tenure.analysis import render

    grid = Table(title=title, title_justify="left")
    for header in headers:
        grid.add_column(header)
    for row in rows:
        grid.add_row(*(render.fmt(c) for c in row))
    context.out.print(grid)


def _emit(
    context: AppContext, report: dict[str, Any], as_json: bool, html: Path | None, page: str
) -> None:
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(page, encoding="utf-8")
        context.console.print(f"wrote {html}", highlight=False)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))


@analyze_app.command("survival")
def survival_command(
    ctx: typer.Context,
    by: Annotated[
        str | None, typer.Option("--by", help="Attribute to split the curves by (e.g. Contract).")
    ] = None,
    as_json: JsonOption = False,
    html: HtmlOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Kaplan–Meier curves (per --by group), log-rank tests and a Cox model of churn."""
    from tenure.analysis import render
    from tenure.analysis.survival import survival_report

    context = app_context(ctx)
    frame = _frame(context, as_of)
    if by is not None and by not in frame.features:
        known = ", ".join(sorted(frame.features)) or "none"
        raise InputError(f"unknown attribute {by!r} for --by; known: {known}")
    report = survival_report(frame, by)
    if not as_json:
        context.out.print(
            f"{report['accounts']:,} accounts, {report['events']:,} churned; median lifetime "
            f"{render.fmt(report['median_lifetime'])} months",
            highlight=False,
        )
        _print_table(
            context,
            f"Kaplan–Meier by {by or 'all'}",
            render.GROUP_HEADERS,
            render.survival_group_rows(report),
        )
        if report["logrank"] is not None:
            _print_table(
                context, "Log-rank tests", ["test", "χ²", "df", "p"], render.logrank_rows(report)
            )
        _print_table(
            context, "Cox proportional hazards", render.COX_HEADERS, render.cox_rows(report)
        )
    _emit(context, report, as_json, html, render.survival_html(report))


@analyze_app.command("drivers")
def drivers_command(
    ctx: typer.Context,
    as_json: JsonOption = False,
    html: HtmlOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Metric cohorts vs churn rate for every attribute, ranked, correlated ones grouped."""
    from tenure.analysis import render
    from tenure.analysis.drivers import churn_drivers, drivers_report

    context = app_context(ctx)
    frame = _frame(context, as_of)
    report = drivers_report(frame, churn_drivers(frame))
    if not as_json:
        rows = [row[:6] for row in render.driver_rows(report)]
        _print_table(context, "Churn drivers (strongest first)", render.DRIVER_HEADERS[:6], rows)
    _emit(context, report, as_json, html, render.drivers_html(report))


COHORT_COLUMNS = 12  # months-since columns shown on stdout; --csv/--json/--html have them all


@analyze_app.command("cohorts")
def cohorts_command(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option("--by", help="Matrix on stdout: logo, or mrr (net and gross).")
    ] = "logo",
    first: Annotated[
        str | None,
        typer.Option("--from", help="First signup month, YYYY-MM (default: 11 before --to)"),
    ] = None,
    last: Annotated[
        str | None,
        typer.Option(
            "--to", help="Last signup and observed month, YYYY-MM (default: last complete)"
        ),
    ] = None,
    as_json: JsonOption = False,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write the cells here (long format).")
    ] = None,
    html: HtmlOption = None,
) -> None:
    """Signup month × months since signup: logo, net MRR and gross MRR retention."""
    from tenure.analysis import render
    from tenure.metrics import cohorts
    from tenure.metrics.currency import settings_rates
    from tenure.metrics.months import last_complete_month, month_range, month_text, parse_month
    from tenure.warehouse.stages.subscriptions import app_db_subscriptions

    if by not in ("logo", "mrr"):
        raise InputError(f"--by must be logo or mrr, not {by!r}")
    context = app_context(ctx)
    end = parse_month(last, option="--to") if last else last_complete_month()
    start = parse_month(first, option="--from") if first else end - 11
    month_range(start, end)
    currency = context.settings.reporting_currency
    cells = cohorts.cohort_cells(
        app_db_subscriptions(context.engine),
        start,
        end,
        currency=currency,
        rates=settings_rates(context.settings.fx_rates),
    )
    span = {"from": month_text(start), "to": month_text(end)}
    report = span | cohorts.retention_matrix(cells, currency)
    if csv_path is not None:
        _write_cohort_csv(context, csv_path, cohorts.csv_rows(report))
    if not as_json:
        for key in ("logo",) if by == "logo" else ("net_mrr", "gross_mrr"):
            _print_cohort_table(context, report, key)
    _emit(context, report, as_json, html, render.cohorts_html(report))


def _print_cohort_table(context: AppContext, report: dict[str, Any], matrix: str) -> None:
    from tenure.metrics import cohorts

    if not report["cohorts"]:
        context.out.print("no paying accounts signed up in these months", highlight=False)
        return
    months = report["months_since"][:COHORT_COLUMNS]
    grid = Table(
        title=f"{cohorts.MATRICES[matrix]} by signup month (columns: months since signup)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    rows = []
    for entry in report["cohorts"]:
        values = [f"{v:.0%}" for v in entry[matrix][: len(months)]]
        values += [""] * (len(months) - len(values))
        rows.append([entry["cohort"], f"{entry['size']:,}", *values])
    headers = ["cohort", "accts", *(str(k) for k in months)]
    for i, header in enumerate(headers):
        width = max(len(header), *(len(row[i]) for row in rows))
        grid.add_column(header, justify="left" if i == 0 else "right", min_width=width)
    for row in rows:
        grid.add_row(*row)
    context.out.print(grid)


def _write_cohort_csv(context: AppContext, path: Path, rows: list[dict[str, Any]]) -> None:
    from tenure.metrics import cohorts

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=cohorts.CSV_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc}") from exc
    context.console.print(f"wrote {len(rows)} cohort cells to {path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `analyze` group to the root app."""
    app.add_typer(analyze_app, name="analyze")
