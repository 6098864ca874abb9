"""`tenure dq report`: score the data's quality against the 95 % bar (table, JSON or HTML)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tenure.cli.context import app_context
from tenure.errors import InputError
from tenure.quality.scoring import BELOW_BAR, NO_DATA, PASS, QualityReport

# The quality modules (DuckDB, Ibis, Plotly) are imported inside the functions that use them, so
# `tenure dq --help` and the other commands do not load them (start-up time, not an import cycle).

dq_app = typer.Typer(
    help="Data quality: how complete, valid, unique, linked and fresh the data is."
)

WIDE = 140
STYLES = {PASS: "green", BELOW_BAR: "bold red", NO_DATA: "dim", "info": "dim"}
DRIFT_STYLES = {"stable": "green", "moderate": "yellow", "drifted": "bold red"}


def checks_table(report: QualityReport, *, with_detail: bool = True) -> Table:
    """Return a Rich table of the checks of every table that has rows."""
    from tenure.quality.rendering import format_score

    table = Table(title="Data-quality checks", show_lines=False)
    table.add_column("Table", no_wrap=True)
    table.add_column("Check", overflow="fold")
    table.add_column("Source", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Rows", justify="right")
    if with_detail:
        table.add_column("Detail", overflow="fold")
    empty = set(report.no_data_tables)
    for check in report.checks:
        if check.table in empty:
            continue
        style = STYLES.get(check.status, "")
        name = check.check if check.rule is None else f"{check.check} ({check.rule})"
        score = format_score(check.score) + (" (info)" if check.status == "info" else "")
        rows = "" if check.rows is None else str(check.rows)
        cells = [check.table, name, check.source or "", f"[{style}]{score}[/]", rows]
        table.add_row(*cells, *([check.detail] if with_detail else []))
    return table


def print_report(report: QualityReport, out: Console) -> None:
    """Print the checks, the overall score and what pulls it below the bar."""
    from tenure.quality.rendering import format_score

    # Narrow terminals (and CI logs) get the table without details; below-bar details follow.
    out.print(checks_table(report, with_detail=out.width >= WIDE))
    style = STYLES[report.status]
    out.print(
        f"Overall data quality: [{style}]{format_score(report.overall_score)}[/] "
        f"(bar {report.bar:g} %)",
        highlight=False,
    )
    below = report.below_bar
    if below:
        out.print(f"[bold red]Below the {report.bar:g} % bar[/] (largest drag first):")
        for check in below:
            where = check.table + (f"/{check.source}" if check.source else "")
            out.print(
                f"  • {where} {check.check}: {format_score(check.score)} "
                f"(−{check.impact:.2f} points) — {check.detail}",
                highlight=False,
                markup=False,
            )
    else:
        out.print("[green]No check is below the bar.[/]")
    if report.no_data_tables:
        out.print(f"[dim]No data (not scored): {', '.join(report.no_data_tables)}[/]")


def print_model_drift(section: Mapping[str, Any] | None, out: Console) -> None:
    """Print the churn-model drift block: verdict, score PSI, worst features, staleness."""
    from tenure.quality.rendering import PROVISIONAL, drift_headline, format_psi, model_label

    if section is None:
        out.print("[dim]Churn model drift: no scored day yet (measured when the model scores).[/]")
        return
    if section["status"] == "unreadable":
        out.print(f"[yellow]Churn model drift: unreadable[/] — {escape(section['note'])}")
        return
    style = DRIFT_STYLES.get(section["status"], "yellow")
    out.print(
        f"Churn model drift ({escape(model_label(section))}, scored {escape(section['as_of'])}): "
        f"[{style}]{escape(drift_headline(section))}[/]; score PSI "
        f"{format_psi(section['score_psi'])} ({escape(str(section['score_status']))})",
        highlight=False,
    )
    worst = ", ".join(
        f"{row['feature']} {format_psi(row['psi'])} ({row['status']})"
        for row in section["worst_features"]
    )
    if worst:
        out.print(f"  worst features: {worst}", highlight=False, markup=False)
    if section.get("tiers_provisional"):
        out.print(f"  [red]{PROVISIONAL}[/]", highlight=False)
    if section["stale"]:
        out.print(f"  [yellow]stale:[/] {escape(section['note'])}", highlight=False)


@dq_app.command("report")
def report_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report")
    ] = None,
) -> None:
    """Score completeness, validity, uniqueness, references, consistency and freshness."""
    from tenure.quality.flows import build_quality_report
    from tenure.quality.rendering import render_html

    context = app_context(ctx)
    report = build_quality_report(engine=context.engine, settings=context.settings)
    if html is not None:
        try:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write the HTML report to {html}: {exc}") from exc
        context.console.print(f"wrote {html}", highlight=False)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report, context.out)
        print_model_drift(report.model_drift, context.out)


def register(app: typer.Typer) -> None:
    """Add the `dq` command group to the root app."""
    app.add_typer(dq_app, name="dq")
