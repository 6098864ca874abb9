"""`tenure import telco|bank|sparkify PATH`: load a public data set through the standard import.

Each command converts the file to canonical files and imports them in dependency order; it
prints one line per imported file and exits with the worst code: 2 if any file imported
nothing, else 3 if any row was quarantined, else 0.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tenure.cli.context import AppContext, app_context
from tenure.cli.import_output import import_progress, print_result

if TYPE_CHECKING:
    from tenure.ingest.flows import ImportResult

# The commands import tenure.ingest.importers (pandas, DuckDB, PyArrow) inside their bodies, so
# `tenure import --help` does not load them (start-up time, not an import cycle).

_DATE_FORMATS = ["%Y-%m-%d"]


def _run(
    context: AppContext,
    importer: Callable[..., list[ImportResult]],
    path: Path,
    **options: Any,
) -> list[ImportResult]:
    """Run importer(path, …) under a progress bar and print each file's counts."""
    with import_progress(context, "dataset") as report:

        def on_progress(kind: str, phase: str, done: int, total: int | None) -> None:
            report(phase, done, total, kind)

        results = importer(
            path,
            settings=context.settings,
            engine=context.engine,
            progress=on_progress,
            **options,
        )
    for result in results:
        print_result(context, result)
    return results


def telco_command(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="IBM Telco churn CSV (telco_customer_churn.csv[.gz])")
    ],
    as_of: Annotated[
        datetime,
        typer.Option(
            "--as-of",
            formats=_DATE_FORMATS,
            show_default=False,
            help="Snapshot date: accounts start `tenure` months before it; churned "
            "subscriptions end on it (default: 2019-09-30, when IBM published the file)",
        ),
    ] = datetime(2019, 9, 30),
) -> None:
    """Import the IBM Telco churn data set: accounts and one subscription each."""
    from tenure.ingest.importers import telco
    from tenure.ingest.importers.common import worst_exit_code

    results = _run(app_context(ctx), telco.import_telco, path, as_of=as_of.date())
    raise typer.Exit(worst_exit_code(results))


def bank_command(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(help="Bank churn CSV (Churn_Modelling / bank_churn_modelling.csv[.gz])"),
    ],
    as_of: Annotated[
        datetime,
        typer.Option(
            "--as-of",
            formats=_DATE_FORMATS,
            show_default=False,
            help="Snapshot date: accounts start `Tenure` years before it "
            "(default: 2018-12-17, the source repository's date)",
        ),
    ] = datetime(2018, 12, 17),
) -> None:
    """Import the bank churn data set: accounts only (it has no revenue column)."""
    from tenure.ingest.importers import bank
    from tenure.ingest.importers.common import worst_exit_code

    results = _run(app_context(ctx), bank.import_bank, path, as_of=as_of.date())
    raise typer.Exit(worst_exit_code(results))


def sparkify_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Sparkify / eventsim JSONL log (.gz ok)")],
) -> None:
    """Import a Sparkify event log: accounts, paid subscriptions (9.99 USD), events."""
    from tenure.ingest.importers import sparkify
    from tenure.ingest.importers.common import worst_exit_code

    context = app_context(ctx)
    results = _run(context, sparkify.import_sparkify, path)
    events = next((r for r in results if r.kind == "events"), None)
    if events is not None and events.rows_quarantined:
        context.out.print(
            "  note: events without a userId (logged-out visitors) have no account and are "
            "quarantined on purpose; the quarantine file lists them",
            highlight=False,
        )
    raise typer.Exit(worst_exit_code(results))


def register_datasets(import_app: typer.Typer) -> None:
    """Add the telco, bank and sparkify commands to the `import` group."""
    import_app.command("telco")(telco_command)
    import_app.command("bank")(bank_command)
    import_app.command("sparkify")(sparkify_command)
