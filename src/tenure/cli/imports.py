"""`tenure import KIND PATH`: load files; exit 0 clean, 3 partial, 2 nothing imported."""

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.cli.datasets import register_datasets
from tenure.db.session import session_scope
from tenure.ingest.importers import worst_exit_code
from tenure.ingest.mapping import load_mapping
from tenure.ingest.runs import quarantined_rows, recent_runs, run_summary
from tenure.ingest.service import ImportResult, import_file
from tenure.ingest.simulated import import_simulated
from tenure.ingest.spec import ALL_KINDS

import_app = typer.Typer(
    help="Load files: " + ", ".join(ALL_KINDS) + ", or a public data set / simulator folder.",
    no_args_is_help=True,
)


def progress_bar(context: AppContext) -> Progress:
    """Return the import progress bar: phase, bar, rows or percent, elapsed time."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[amount]}"),
        TimeElapsedColumn(),
        console=context.console,
        transient=True,
    )


def progress_amount(phase: str, done: int) -> str:
    """Return what a progress report counts: rows while loading, else DuckDB's percent."""
    return f"{done:,} rows" if phase == "loading" else f"{done} %"


@contextlib.contextmanager
def import_progress(context: AppContext, label: str) -> Iterator[Callable[..., None]]:
    """Show the import progress bar; yield report(phase, done, total, name=label)."""
    with progress_bar(context) as bar:
        task = bar.add_task(f"{label}: reading", total=None, amount="")

        def report(phase: str, done: int, total: int | None, name: str = label) -> None:
            amount = progress_amount(phase, done)
            bar.update(
                task, description=f"{name}: {phase}", completed=done, total=total, amount=amount
            )

        yield report


def run_import(context: AppContext, kind: str, path: Path, mapping: Path | None) -> ImportResult:
    """Import one file with a progress bar and print its counts."""
    with import_progress(context, kind) as on_progress:
        result = import_file(
            kind,
            path,
            settings=context.settings,
            engine=context.engine,
            mapping=load_mapping(mapping),
            progress=on_progress,
        )
    print_result(context, result)
    return result


def print_result(context: AppContext, result: ImportResult) -> None:
    """Print one import's counts and where its quarantine went."""
    line = (
        f"{result.kind}: {result.rows_read:,} read, {result.rows_loaded:,} loaded "
        f"({result.rows_inserted:,} new, {result.rows_updated:,} existing"
    )
    if result.rows_duplicate:
        line += f", {result.rows_duplicate:,} duplicates ignored"
    line += f"), {result.rows_quarantined:,} quarantined"
    context.out.print(line, highlight=False)
    if result.ignored_columns:
        context.out.print(
            f"  ignored columns: {', '.join(result.ignored_columns)}", highlight=False
        )
    if result.quarantine_csv:
        context.out.print(f"  quarantine: {result.quarantine_csv}", highlight=False)


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
    import_app.command(_kind)(_kind_command(_kind))


@import_app.command("simulated")
def simulated_command(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Output folder of `tenure simulate --out`")],
) -> None:
    """Import a simulator output folder (all kinds, in order, plus its ground truth)."""
    context = app_context(ctx)
    with import_progress(context, "simulated") as on_progress:
        results = import_simulated(
            folder, settings=context.settings, engine=context.engine, progress=on_progress
        )
    for result in results:
        print_result(context, result)
    raise typer.Exit(worst_exit_code(results))


@import_app.command("log")
def log_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs")] = 20,
    kind: Annotated[str | None, typer.Option("--kind", help="Only runs of this kind")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """List recent imports: kind, file, status and row counts."""
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
    context = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = [
            {"file": q.file, "line": q.line, "field": q.field, "reason": q.reason, "raw": q.raw}
            for q in quarantined_rows(db_session=session, run_id=run_id, limit=limit)
        ]
    if as_json:
        typer.echo(json.dumps({"run_id": run_id, "rows": rows}, indent=2))
        return
    table = Table(title=f"Quarantined rows of import {run_id}")
    for column in ("line", "field", "reason"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(str(r["line"] or ""), r["field"] or "", r["reason"])
    context.out.print(table)


register_datasets(import_app)


def register(app: typer.Typer) -> None:
    """Add the `import` group to the root app."""
    app.add_typer(import_app, name="import")
