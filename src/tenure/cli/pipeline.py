"""`tenure pipeline run`: the daily pipeline for one as-of day, or a range (backfill)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer

from tenure.cli.context import AppContext, app_context
from tenure.cli.options import parse_days

pipeline_app = typer.Typer(help="The daily pipeline.", no_args_is_help=True)


@pipeline_app.command("run")
def run_command(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Day to run, YYYY-MM-DD (today)")
    ] = None,
    from_day: Annotated[str | None, typer.Option("--from", help="First day of a backfill")] = None,
    to_day: Annotated[str | None, typer.Option("--to", help="Last day of a backfill")] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Run only this stage")] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="Skip this stage")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per stage")
    ] = False,
) -> None:
    """Run the pipeline stages (sync, then the daily stages) for a day or a range of days."""
    # Imported here, not at the top: the stages pull in MLflow and Ibis (seconds of start-up
    # that `tenure --help` and every other command should not pay).
    from tenure.scheduler.lease import PIPELINE, holding

    context = app_context(ctx)
    days = parse_days(as_of, from_day, to_day)
    # one pipeline at a time, here and in `tenure scheduler` (LockHeld names the holder)
    with holding(context.engine, PIPELINE, context.settings.scheduler_lease_seconds):
        from tenure.pipeline import select_stages

        _run_days(context, days, select_stages(only, skip), as_json)
        if not only and not skip:  # every stage ran: the scheduler need not run these days
            _record_progress(context, days[-1])


def _record_progress(context: AppContext, day: date) -> None:
    """Record day as the pipeline's last completed day, unless a later one is recorded."""
    from tenure.db.session import session_scope
    from tenure.scheduler.runner import last_completed, record_completed

    with session_scope(context.engine) as session:
        done = last_completed(session, "pipeline")
        if done is None or day > done:
            record_completed(session, "pipeline", day)


def _run_days(context: AppContext, days: list[date], stages: list[Any], as_json: bool) -> None:
    """Run the stages day by day, printing each stage's summary as it ends."""
    from tenure.pipeline import run_day
    from tenure.stage import StageContext

    for day in days:
        stage_context = StageContext(settings=context.settings, engine=context.engine, as_of=day)
        for name, summary in run_day(stage_context, stages):
            if as_json:
                context.out.print(
                    json.dumps({"as_of": day.isoformat(), "stage": name, **summary}, default=str),
                    highlight=False,
                )
            else:
                details = ", ".join(f"{key} {value}" for key, value in summary.items())
                context.out.print(f"{day} {name}: {details}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `pipeline` group to the root app."""
    app.add_typer(pipeline_app, name="pipeline")
