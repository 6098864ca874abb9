"""`tenure experiments report --simulated BOOK_DIR`: a simulated book's estimate beside its truth.

Kept apart from the `experiments` command group (owned by tenure.cli.experiments): `register`
adds the `simulated` command to a Typer app, and `simulated_command` can back a `--simulated`
option of `experiments report`. The book must be imported into the data dir first
(`tenure import simulated BOOK_DIR`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from tenure.cli.context import app_context
from tenure.cli.options import parse_date

if TYPE_CHECKING:
    from tenure.experiments.simulated import SimulatedReport

# The warehouse, Ibis and the engine load inside the command (start-up time).


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1%}"


def truth_table(report: SimulatedReport) -> Table:
    """Return churn_90d per arm: units, observed and true rate, true lift, estimate, interval."""
    table = Table(
        title=f"churn_90d as of {report.as_of}: estimate vs simulated truth", box=box.SIMPLE
    )
    for name in (
        "arm",
        "units",
        "observed",
        "true rate",
        "true lift",
        "est. lift",
        "95 % CI",
        "covered",
    ):
        table.add_column(name, justify="left" if name == "arm" else "right")
    for row in report.churn:
        interval = "—" if row.ci_low is None else f"{_pct(row.ci_low)} … {_pct(row.ci_high)}"
        covered = "—" if row.covered is None else ("yes" if row.covered else "NO")
        table.add_row(
            row.arm, f"{row.units:,}", f"{row.observed_rate:.2%}", f"{row.true_rate:.2%}",
            _pct(row.true_lift), _pct(row.lift), interval, covered,
        )  # fmt: skip
    return table


def metrics_table(report: SimulatedReport) -> Table:
    """Return every metric's lift per arm with its interval and p-value."""
    table = Table(title="all metrics (relative lift vs control)", box=box.SIMPLE)
    for name in ("metric", "arm", "units", "mean", "lift", "95 % CI", "p"):
        table.add_column(name, justify="left" if name in ("metric", "arm") else "right")
    for metric in report.result.metrics:
        for v in metric.variants:
            interval = (
                "—" if v.lift_ci_low is None else f"{_pct(v.lift_ci_low)} … {_pct(v.lift_ci_high)}"
            )
            p = "—" if v.p_value is None else f"{v.p_value:.3g}"
            table.add_row(
                metric.metric, v.variant, f"{v.n:,}", f"{v.mean:.4g}", _pct(v.lift), interval, p
            )
    return table


def report_json(report: SimulatedReport) -> dict[str, Any]:
    """Return the report as JSON-ready values."""
    from dataclasses import asdict

    return {
        "as_of": report.as_of.isoformat(),
        "churn_90d": [asdict(row) | {"covered": row.covered} for row in report.churn],
        "simulated_truth": report.manifest_truth,
        "result": json.loads(json.dumps(asdict(report.result), default=str)),
    }


def simulated_command(
    ctx: typer.Context,
    book_dir: Annotated[Path, typer.Argument(help="The `tenure simulate --out` folder")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Metric to report (repeatable)")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Analysis day (default: last simulated day)")
    ] = None,
    metrics_file: Annotated[
        Path | None, typer.Option("--metrics-file", help="TOML metric definitions")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Analyse a simulated book's treatment and print the estimate beside the simulated truth."""
    from tenure.experiments.simulated import DEFAULT_METRICS, simulated_report

    context = app_context(ctx)
    report = simulated_report(
        book_dir,
        context.settings,
        context.engine,
        metrics=metric or DEFAULT_METRICS,
        as_of=parse_date(as_of, "--as-of"),
        metrics_file=metrics_file,
    )
    if as_json:
        typer.echo(json.dumps(report_json(report), indent=2))
        return
    context.out.print(truth_table(report))
    context.out.print(metrics_table(report))
    reasons = "; ".join(report.result.reasons) or "none"
    context.out.print(f"decision: {report.result.decision} ({reasons})", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `simulated` to a Typer app (e.g. the experiments group)."""
    app.command("simulated")(simulated_command)
