"""`tenure audit verify|export|prune`: the tamper-evident audit log."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer

from tenure import clock
from tenure.cli.context import AppContext, app_context
from tenure.cli.options import parse_date
from tenure.errors import InputError, TenureError

# The privacy service and the app-DB session (SQLAlchemy) are imported inside the commands that
# use them, so `tenure audit --help` does not load them (start-up time).

audit_app = typer.Typer(
    help="The tamper-evident audit log: verify, export, prune.", no_args_is_help=True
)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


class AuditChainBroken(TenureError):
    """The audit log's hash chain does not verify: an entry was edited, deleted or forged."""

    exit_code = 65


def register(app: typer.Typer) -> None:
    """Add the `audit` commands to the root app."""
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Walk the hash chain; exit 65 naming the first broken entry when it does not verify."""
    from tenure.db.session import session_scope
    from tenure.privacy.audit import verify_chain

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        report = verify_chain(session)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    if not report.intact:
        raise AuditChainBroken(f"audit log: {report.reason} (entry id {report.broken_id})")
    if not as_json:
        pruned = f", pruned through entry {report.pruned_through}" if report.pruned_through else ""
        span = f"entries {report.first_id}…{report.last_id}" if report.entries else "no entries"
        context.out.print(f"audit verify: intact, {report.entries} entries ({span}){pruned}")


@audit_app.command("export")
def export_command(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="JSONL file (default: stdout)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this day (YYYY-MM-DD)")] = None,
) -> None:
    """Write the audit log as JSON lines, with each entry's prev_hash and hash."""
    from tenure.db.session import session_scope
    from tenure.privacy.audit import export_entries

    context: AppContext = app_context(ctx)
    day = parse_date(since, "--since")
    start = datetime.combine(day, time(), tzinfo=UTC) if day else None
    handle = out.open("w", encoding="utf-8") if out else sys.stdout
    count = 0
    try:
        with session_scope(context.engine) as session:
            for row in export_entries(session, start):
                handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
    finally:
        if out:
            handle.close()
    if out:
        context.out.print(f"audit export: {count} entries to {out}")


@audit_app.command("prune")
def prune_command(
    ctx: typer.Context,
    days: Annotated[
        int | None, typer.Option("--days", help="Keep this many days (default: the setting)")
    ] = None,
) -> None:
    """Delete entries past audit_retention_days; an anchor entry keeps the chain verifiable."""
    from tenure.db.session import session_scope
    from tenure.privacy.audit import prune_entries

    context: AppContext = app_context(ctx)
    keep = days if days is not None else context.settings.audit_retention_days
    if keep is None:
        raise InputError("audit_retention_days is not set: give --days N to prune")
    if keep < 1:
        raise InputError(f"--days must be at least 1, got {keep}")
    before = clock.now() - timedelta(days=keep)
    with session_scope(context.engine) as session:
        pruned = prune_entries(session, before, actor="cli")
    context.out.print(f"audit prune: {pruned} entries older than {before:%Y-%m-%d} deleted")
