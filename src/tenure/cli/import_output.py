"""What an import shows while it runs and when it ends: progress, counts, why rows were refused."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tenure.cli.context import AppContext

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tenure.ingest.flows import ImportResult
    from tenure.ingest.models import QuarantinedRow

# SQLAlchemy and the ingest modules (DuckDB, PyArrow) are imported inside the functions that
# read the quarantine, so `tenure import --help` does not load them (start-up time).

# How many reason groups and rejected lines an import prints; `tenure import quarantine` has all.
SHOWN_REASONS = 10
SHOWN_LINES = 5
# The offending value inside a reason ('x', ": 7", "got 7", "line 12"): reasons that differ only
# there are one group, shown with the first value as the example.
VALUE = re.compile(r"'.*'|(?<=: )\S+$|(?<=got )\S+$|(?<=at line )\d+")


@dataclass(frozen=True)
class ReasonCount:
    """How many rows of an import were quarantined for one field and reason."""

    field: str | None
    reason: str
    rows: int
    example: str


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
    if result.accounts_created:
        context.out.print(f"  accounts created: {result.accounts_created:,}", highlight=False)
    if result.ignored_columns:
        context.out.print(
            f"  ignored columns: {', '.join(result.ignored_columns)}", highlight=False
        )
    if result.quarantine_csv:
        context.out.print(f"  quarantine: {result.quarantine_csv}", highlight=False)
    print_unresolved(context, result)
    print_quarantine(context, result)


def print_unresolved(context: AppContext, result: ImportResult) -> None:
    """Print the users whose events found no account, with their row counts."""
    if not result.unresolved_user_count:
        return
    table = Table(title=f"Unresolved users ({result.unresolved_user_count:,}): no account found")
    for column in ("field", "user", "rows"):
        table.add_column(column, overflow="fold", justify="right" if column == "rows" else "left")
    for field, user, rows in result.unresolved_users:
        table.add_row(field, user or "", f"{rows:,}")
    more = result.unresolved_user_count - len(result.unresolved_users)
    if more > 0:
        table.caption = f"{more:,} more users"
    context.out.print(table)
    context.out.print(
        "  import their accounts or contacts first, or use --create-accounts",
        highlight=False,
        markup=False,
    )


def quarantine_reasons(*, db_session: Session, run_id: int) -> list[ReasonCount]:
    """Return the quarantine of one run grouped by field and reason, most rows first."""
    from sqlalchemy import func, select

    from tenure.ingest.models import QuarantinedRow

    first_line = func.min(func.coalesce(QuarantinedRow.line, 0))
    query = (
        select(QuarantinedRow.field, QuarantinedRow.reason, func.count())
        .where(QuarantinedRow.import_run_id == run_id)
        .group_by(QuarantinedRow.field, QuarantinedRow.reason)
        .order_by(first_line, QuarantinedRow.field, QuarantinedRow.reason)
    )
    groups: dict[tuple[str | None, str], ReasonCount] = {}
    for field, reason, rows in db_session.execute(query):
        match = VALUE.search(reason)
        general = VALUE.sub("…", reason)
        seen = groups.get((field, general))
        if seen is None:
            example = match.group(0) if match else ""
            groups[(field, general)] = ReasonCount(field, general, rows, example)
        else:
            groups[(field, general)] = ReasonCount(field, general, seen.rows + rows, seen.example)
    return sorted(groups.values(), key=lambda group: -group.rows)


def reasons_table(reasons: list[ReasonCount]) -> Table:
    """Return a table of field, reason and row count, the largest groups first."""
    table = Table(title="Why rows were quarantined")
    table.add_column("field", overflow="fold")
    table.add_column("reason", overflow="fold")
    table.add_column("rows", justify="right")
    table.add_column("e.g.", overflow="fold")
    for group in reasons[:SHOWN_REASONS]:
        table.add_row(group.field or "", group.reason, f"{group.rows:,}", group.example)
    if len(reasons) > SHOWN_REASONS:
        table.caption = f"{len(reasons) - SHOWN_REASONS} more reasons"
    return table


def quarantine_table(title: str, rows: Iterable[QuarantinedRow]) -> Table:
    """Return a table of quarantined rows: line, field and reason."""
    table = Table(title=title)
    for column in ("line", "field", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row.line or ""), row.field or "", row.reason)
    return table


def print_quarantine(context: AppContext, result: ImportResult) -> None:
    """Print why an import quarantined rows: grouped reasons, then its first rejected lines."""
    if not result.rows_quarantined:
        return
    from tenure.db.session import session_scope
    from tenure.ingest.runs import quarantined_rows

    with session_scope(context.engine) as session:
        reasons = quarantine_reasons(db_session=session, run_id=result.run_id)
        first = quarantined_rows(db_session=session, run_id=result.run_id, limit=SHOWN_LINES)
    context.out.print(reasons_table(reasons))
    title = f"First {len(first)} of {result.rows_quarantined:,} quarantined rows"
    context.out.print(quarantine_table(title, first))
    context.out.print(
        f"  all of them: tenure import quarantine {result.run_id}", highlight=False, markup=False
    )
