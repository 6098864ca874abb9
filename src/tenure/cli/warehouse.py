"""`tenure warehouse sync`: move the event inbox into the warehouse."""

from __future__ import annotations

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


def register(app: typer.Typer) -> None:
    """Add the `warehouse` group to the root app."""
    app.add_typer(warehouse_app, name="warehouse")
