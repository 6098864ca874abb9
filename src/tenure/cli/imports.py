"""`tenure import KIND PATH`: load files; exit 0 clean, 3 partial, 2 nothing imported."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.cli.datasets import register_datasets
from tenure.cli.import_output import import_progress, print_result, quarantine_table
from tenure.ingest.spec import ALL_KINDS

if TYPE_CHECKING:
    from tenure.ingest.flows import ImportResult

# The commands import the ingest modules and the app-DB session (DuckDB, PyArrow, pandas,
# SQLAlchemy) inside their bodies, so `tenure import --help` does not load them (start-up time).

import_app = typer.Typer(
    help="Load files: " + ", ".join(ALL_KINDS) + ", or a public data set / simulator folder.",
    no_args_is_help=True,
)


def run_import(
    context: AppContext,
    kind: str,
    path: Path,
    mapping: Path | None,
    *,
    create_accounts: bool = False,
) -> "ImportResult":
    """Import one file with a progress bar and print its counts."""
    from dataclasses import replace

    from tenure.ingest.flows import import_file
    from tenure.ingest.mapping import load_mapping

    loaded = load_mapping(mapping)
    if create_accounts:
        loaded = replace(loaded, create_accounts=True)
    with import_progress(context, kind) as on_progress:
        result = import_file(
            kind,
            path,
            settings=context.settings,
            engine=context.engine,
            mapping=loaded,
            progress=on_progress,
        )
    print_result(context, result)
    return result


def _kind_command(kind: str):
    def command(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help=f"{kind} file: CSV, Parquet or JSONL (.gz ok)")],
        mapping: Annotated[
            Path | None, typer.Option("--mapping", help="TOML mapping of columns and values")
        ] = None,
    ) -> None:
        result = run_import(app_context(ctx), kind, path, mapping)
        raise typer.Exit(result.exit_code)

    command.__doc__ = f"Import {kind} from a file."
    return command


for _kind in ALL_KINDS:
    if _kind != "events":
        import_app.command(_kind)(_kind_command(_kind))

CreateAccounts = Annotated[
    bool,
    typer.Option(
        "--create-accounts",
        help="Create the accounts the events name but Tenure lacks (created at the first event)",
    ),
]


@import_app.command("events")
def events_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="events file: CSV, Parquet or JSONL (.gz ok)")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="TOML mapping of columns and values")
    ] = None,
    create_accounts: CreateAccounts = False,
) -> None:
    """Import events keyed by account, contact or email; extra columns become properties."""
    result = run_import(app_context(ctx), "events", path, mapping, create_accounts=create_accounts)
    raise typer.Exit(result.exit_code)


@import_app.command("mixpanel")
def mixpanel_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Mixpanel raw event export (JSON lines, .gz ok)")],
    group_key: Annotated[
        str | None,
        typer.Option("--group-key", help="Event property holding the account id (group key)"),
    ] = None,
    create_accounts: CreateAccounts = False,
) -> None:
    """Import a Mixpanel raw event export; the group key or the user gives the account."""
    from tenure.ingest.importers.product_analytics import import_mixpanel

    run_export(ctx, import_mixpanel, path, group_key, create_accounts)


@import_app.command("amplitude")
def amplitude_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Amplitude export (JSON lines, .gz ok)")],
    group_type: Annotated[
        str | None,
        typer.Option("--group-type", help="Amplitude group type naming the account"),
    ] = None,
    create_accounts: CreateAccounts = False,
) -> None:
    """Import an Amplitude event export; the group or the user gives the account."""
    from tenure.ingest.importers.product_analytics import import_amplitude

    run_export(ctx, import_amplitude, path, group_type, create_accounts)


def run_export(ctx: typer.Context, importer, path: Path, group: str | None, create: bool) -> None:
    """Convert and import one product-analytics export, print its counts, exit with its code."""
    context = app_context(ctx)
    with import_progress(context, "events") as on_progress:
        result = importer(
            path,
            settings=context.settings,
            engine=context.engine,
            group=group,
            create_accounts=create,
            progress=on_progress,
        )
    print_result(context, result)
    raise typer.Exit(result.exit_code)


@import_app.command("simulated")
def simulated_command(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Output folder of `tenure simulate --out`")],
) -> None:
    """Import a simulator output folder (all kinds, in order, its ground truth and play history)."""
    from tenure.ingest.importers import worst_exit_code
    from tenure.ingest.simulated import import_simulated
    from tenure.ingest.simulated_plays import import_play_history

    context = app_context(ctx)
    with import_progress(context, "simulated") as on_progress:
        results = import_simulated(
            folder, settings=context.settings, engine=context.engine, progress=on_progress
        )
    for result in results:
        print_result(context, result)
    runs = import_play_history(folder, settings=context.settings, engine=context.engine)
    if runs is not None:
        typer.echo(f"play history (the simulated closed loop): {runs} new runs")
    raise typer.Exit(worst_exit_code(results))


@import_app.command("log")
def log_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs")] = 20,
    kind: Annotated[str | None, typer.Option("--kind", help="Only runs of this kind")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """List recent imports: kind, file, status and row counts."""
    from tenure.db.session import session_scope
    from tenure.ingest.runs import recent_runs, run_summary

    context = app_context(ctx)
    with session_scope(context.engine) as session:
        runs = [run_summary(r) for r in recent_runs(db_session=session, limit=limit, kind=kind)]
    if as_json:
        typer.echo(json.dumps({"runs": runs}, indent=2))
        return
    table = Table(title="Imports (newest first)")
    for column in ("id", "kind", "status", "read", "loaded", "quarantined", "started (UTC)"):
        table.add_column(column, no_wrap=True)
    table.add_column("path", overflow="fold")
    for r in runs:
        table.add_row(
            str(r["id"]),
            r["kind"],
            r["status"],
            f"{r['rows_read']:,}",
            f"{r['rows_loaded']:,}",
            f"{r['rows_quarantined']:,}",
            (r["started_at"] or "")[:19],
            r["path"],
        )
    context.out.print(table)


@import_app.command("quarantine")
def quarantine_command(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="Import run id (see `tenure import log`)")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many rows")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Show the rows an import quarantined: line, field and reason."""
    from tenure.db.session import session_scope
    from tenure.ingest.runs import quarantined_rows

    context = app_context(ctx)
    with session_scope(context.engine) as session:
        quarantined = quarantined_rows(db_session=session, run_id=run_id, limit=limit)
    if as_json:
        rows = [
            {"file": q.file, "line": q.line, "field": q.field, "reason": q.reason, "raw": q.raw}
            for q in quarantined
        ]
        typer.echo(json.dumps({"run_id": run_id, "rows": rows}, indent=2))
        return
    context.out.print(quarantine_table(f"Quarantined rows of import {run_id}", quarantined))


register_datasets(import_app)


def register(app: typer.Typer) -> None:
    """Add the `import` group to the root app."""
    app.add_typer(import_app, name="import")
