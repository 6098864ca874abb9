"""`tenure reports`: ROI measured against holdouts, and the graded success scorecard."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from tenure.cli.context import app_context

reports_app = typer.Typer(
    help="Reports: ROI measured against holdouts, success scorecard, scheduled PDF reports."
)

# SQLAlchemy and the report modules load inside the commands (CLI start-up time).


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}×"


def _roi_table(lines: list[dict[str, Any]], currency: str) -> Table:
    """Return the ROI lines as a table: MRR kept [95 %], cost, ROI [95 %], 12-month projection."""
    table = Table(title=f"ROI vs holdouts ({currency}, MRR kept a month)", box=box.SIMPLE)
    for name in ("line", "n", "MRR kept [95 %]", "cost", "ROI [95 %]", "12 mo"):
        table.add_column(name, justify="left" if name == "line" else "right")
    for line in lines:
        counts = f"{line['treated']}/{line['holdout']}"
        if line["status"] != "measured":
            table.add_row(line["name"], counts, "not measured", _money(line["cost"]), "", "")
            continue
        kept = (f"{_money(line['mrr_kept'])} [{_money(line['mrr_kept_ci_low'])}, "
                f"{_money(line['mrr_kept_ci_high'])}]")  # fmt: skip
        roi = f"{_ratio(line['roi'])} [{_ratio(line['roi_ci_low'])}, {_ratio(line['roi_ci_high'])}]"
        table.add_row(line["name"], counts, kept, _money(line["cost"]), roi,
                      _money(line["projected_12m"]))  # fmt: skip
    return table


def _reasons(lines: list[dict[str, Any]]) -> list[str]:
    """Return one note per line that is not measured, saying why."""
    return [f"{line['name']}: not measured, {line['reason']}" for line in lines if line["reason"]]


@reports_app.command("roi")
def roi_command(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """ROI of the programme, each play, journey and loyalty, measured against their holdouts."""
    from tenure import clock
    from tenure.db.session import session_scope
    from tenure.reports.roi import roi_lines

    context = app_context(ctx)
    with session_scope(context.engine) as session:
        lines = [
            line.as_dict() for line in roi_lines(session, context.settings, clock.now().date())
        ]
    if as_json:
        typer.echo(json.dumps(lines, indent=2))
        return
    context.out.print(_roi_table(lines, context.settings.reporting_currency))
    context.out.print("n = treated/holdout accounts judged", *_reasons(lines), sep="\n")


@reports_app.command("scorecard")
def scorecard_command(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """The success criteria graded A–F against the baseline period (or the holdout)."""
    from tenure import clock
    from tenure.db.session import session_scope
    from tenure.reports.scorecard import scorecard_dicts

    context = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = scorecard_dicts(session, context.settings, clock.now().date())
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Success scorecard", box=box.SIMPLE)
    for name in ("criterion", "baseline", "current", "change", "target", "grade", "evidence"):
        table.add_column(name, justify="right" if name in ("change", "grade") else "left")
    for row in rows:
        figures = ["—" if row[k] is None else f"{row[k]:.4g}" for k in ("baseline", "current")]
        change = "—" if row["change"] is None else f"{row['change']:+.1%}"
        target = "–".join(f"{t:.0%}" for t in row["target"])
        table.add_row(row["criterion"], *figures, change, target, row["grade"], row["evidence"])
    context.out.print(table)


def register(app: typer.Typer) -> None:
    """Add the `reports` group (with `render` and `schedule`) to the root app."""
    from tenure.cli.reports_render import add_commands

    add_commands(reports_app)
    app.add_typer(reports_app, name="reports")
