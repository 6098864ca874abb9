"""`tenure pipeline run`: the daily pipeline (for now: move the inbox into the warehouse)."""

from __future__ import annotations

import typer

from tenure.cli.context import app_context
from tenure.cli.warehouse import run_sync

pipeline_app = typer.Typer(help="The daily pipeline.", no_args_is_help=True)


@pipeline_app.command("run")
def run_command(ctx: typer.Context) -> None:
    """Run the pipeline stages that exist: warehouse sync of the event inbox."""
    run_sync(app_context(ctx))


def register(app: typer.Typer) -> None:
    """Add the `pipeline` group to the root app."""
    app.add_typer(pipeline_app, name="pipeline")
