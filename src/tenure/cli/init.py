"""`tenure init`: create the data dir, migrate the app DB, create the warehouse."""

from __future__ import annotations

import typer

from tenure.cli.context import app_context
from tenure.warehouse.connection import open_warehouse


def init_command(ctx: typer.Context) -> None:
    """Create the data directory, migrate the app DB and create the warehouse."""
    context = app_context(ctx)
    context.engine  # noqa: B018 - migrates on first use
    with open_warehouse(context.settings):
        pass
    context.console.print(f"data dir ready: {context.settings.data_dir.resolve()}")


def register(app: typer.Typer) -> None:
    """Add `init` to the root app."""
    app.command("init")(init_command)
