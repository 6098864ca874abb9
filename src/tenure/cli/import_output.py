"""What an import shows while it runs and when it ends: the progress bar and the counts line."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tenure.cli.context import AppContext
from tenure.ingest.service import ImportResult


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
