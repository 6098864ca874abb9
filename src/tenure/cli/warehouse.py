"""`tenure warehouse sync|export-events`: the event inbox into the warehouse, events to Parquet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from tenure.cli.context import AppContext, app_context

# The warehouse and the event inbox (DuckDB, SQLAlchemy) are imported inside the commands that use
# them, so `tenure warehouse --help` and the other commands do not load them (start-up time, not an
# import cycle).

warehouse_app = typer.Typer(help="The analytics warehouse (DuckDB).", no_args_is_help=True)


def run_sync(context: AppContext) -> None:
    """Move inbox events into the warehouse and print the counts."""
    from tenure.events.service import sync_inbox
    from tenure.warehouse.connection import open_warehouse

    with open_warehouse(context.settings) as warehouse:
        result = sync_inbox(
            engine=context.engine,
            warehouse=warehouse,
            unknown_account_days=context.settings.inbox_unknown_account_days,
        )
        total = warehouse.con.execute("SELECT count(*) FROM events").fetchone()[0]
    context.out.print(
        f"warehouse sync: {result.moved:,} events moved, {result.already_in_warehouse:,} already"
        f" there, {result.waiting_for_account:,} waiting for an unknown account,"
        f" {result.expired_unknown_account:,} expired after"
        f" {context.settings.inbox_unknown_account_days} days unknown;"
        f" {total:,} events in the warehouse",
        highlight=False,
    )


@warehouse_app.command("sync")
def sync_command(ctx: typer.Context) -> None:
    """Move the event inbox into the warehouse (idempotent)."""
    run_sync(app_context(ctx))


@warehouse_app.command("export-events")
def export_events_command(
    ctx: typer.Context,
    since: str | None = typer.Option(
        None, "--since", help="Only days from this one (YYYY-MM-DD); default every day."
    ),
    to: Path | None = typer.Option(
        None, "--to", help="Directory of the Parquet events (default: events= of the Spark URL)."
    ),
) -> None:
    """Write the warehouse events as Parquet partitioned by day (only days that changed)."""
    from tenure.errors import ConfigError
    from tenure.warehouse.connection import open_warehouse
    from tenure.warehouse.parquet_events import export_event_days, local_path
    from tenure.warehouse.spark import parse_url, uses_spark

    context = app_context(ctx)
    settings = context.settings
    if to is None:
        if not uses_spark(settings):
            raise ConfigError("give --to PATH, or set TENURE_WAREHOUSE_URL=spark://…?events=PATH")
        to = local_path(parse_url(settings.warehouse_url or "").events)
    try:
        first = None if since is None else date.fromisoformat(since)
    except ValueError:
        raise typer.BadParameter(f"--since {since!r} is not a day (YYYY-MM-DD)") from None
    with open_warehouse(settings, read_only=True) as warehouse:
        result = export_event_days(warehouse.con, to, first)
    context.out.print(
        f"export-events: {len(result.written):,} days written ({result.rows:,} events),"
        f" {len(result.removed):,} removed, {result.unchanged:,} unchanged in {to}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the `warehouse` group to the root app."""
    app.add_typer(warehouse_app, name="warehouse")
